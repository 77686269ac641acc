"""A tiny rasteriser: thick anti-aliased strokes and discs on a numpy RGB image.

Each shape touches only the pixels of its bounding box, so a frame of a dozen
limbs costs well under a millisecond at 320x240 and the whole demo renders in
seconds.
"""

from __future__ import annotations

import numpy as np

Colour = tuple[int, int, int]
Point = tuple[float, float]


class Canvas:
    """An (height, width, 3) uint8 image with drawing operations in pixel coordinates (y down)."""

    def __init__(self, background: np.ndarray):
        self.pixels = np.array(background, dtype=np.uint8, copy=True)
        self.height, self.width = background.shape[:2]

    def image(self) -> np.ndarray:
        return self.pixels

    def stroke(self, a: Point, b: Point, radius: float, colour: Colour, *, outline: Colour | None = None) -> None:
        """A line from ``a`` to ``b`` with round caps, ``radius`` pixels thick on each side.

        ``outline`` adds a one-pixel border of that colour, sharing the distance computation.
        """
        pad = radius + (1.0 if outline else 0.0)
        box = self._box(min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]), max(a[1], b[1]), pad)
        if box is None:
            return
        ys, xs = box
        ax, ay = a
        dx, dy = b[0] - ax, b[1] - ay
        length2 = dx * dx + dy * dy
        px, py = xs - ax, ys - ay
        if length2 > 0:
            t = (px * dx + py * dy) / length2
            np.maximum(t, 0.0, out=t)
            np.minimum(t, 1.0, out=t)
            px = px - t * dx
            py = py - t * dy
        distance = np.sqrt(px * px + py * py)
        if outline:
            self._paint(box, distance, radius + 1.0, outline)
        self._paint(box, distance, radius, colour)

    def disc(self, centre: Point, radius: float, colour: Colour) -> None:
        cx, cy = centre
        box = self._box(cx, cy, cx, cy, radius)
        if box is None:
            return
        ys, xs = box
        self._paint(box, np.hypot(xs - cx, ys - cy), radius, colour)

    def ring(self, centre: Point, radius: float, width: float, colour: Colour) -> None:
        """A circle outline: the coaching overlay that says "look here"."""
        cx, cy = centre
        box = self._box(cx, cy, cx, cy, radius + width)
        if box is None:
            return
        ys, xs = box
        self._paint(box, np.abs(np.hypot(xs - cx, ys - cy) - radius), width / 2, colour)

    def rect(self, x0: float, y0: float, x1: float, y1: float, colour: Colour) -> None:
        r0, r1 = max(0, round(y0)), min(self.height, round(y1))
        c0, c1 = max(0, round(x0)), min(self.width, round(x1))
        if r0 < r1 and c0 < c1:
            self.pixels[r0:r1, c0:c1] = colour

    def _box(self, x0: float, y0: float, x1: float, y1: float, pad: float) -> tuple[np.ndarray, np.ndarray] | None:
        c0 = max(0, int(np.floor(x0 - pad - 1)))
        c1 = min(self.width, int(np.ceil(x1 + pad + 2)))
        r0 = max(0, int(np.floor(y0 - pad - 1)))
        r1 = min(self.height, int(np.ceil(y1 + pad + 2)))
        if c0 >= c1 or r0 >= r1:
            return None
        # Open grids (a column and a row) broadcast to the box without building it twice.
        return np.arange(r0, r1, dtype=np.float32)[:, None], np.arange(c0, c1, dtype=np.float32)[None, :]

    def _paint(self, box: tuple[np.ndarray, np.ndarray], distance: np.ndarray, radius: float, colour: Colour) -> None:
        ys, xs = box
        # One pixel of soft edge: coverage falls from 1 to 0 across the boundary.
        coverage = radius + 0.5 - distance
        np.maximum(coverage, 0.0, out=coverage)
        np.minimum(coverage, 1.0, out=coverage)
        r0, c0 = int(ys[0, 0]), int(xs[0, 0])
        region = self.pixels[r0 : r0 + ys.shape[0], c0 : c0 + xs.shape[1]]
        # Blend in float only inside the box; a whole float frame would cost more than the shapes.
        current = region.astype(np.float32)
        current += coverage[..., None] * (np.asarray(colour, dtype=np.float32) - current)
        region[...] = current + 0.5


def gradient_background(
    width: int, height: int, *, top: Colour, horizon: Colour, ground: Colour, ground_y: int
) -> np.ndarray:
    """A sky (or gym wall) that fades toward the horizon, over a flat floor."""
    image = np.empty((height, width, 3), dtype=np.float32)
    fade = np.linspace(0.0, 1.0, ground_y, dtype=np.float32)[:, None, None]
    image[:ground_y] = (1 - fade) * np.asarray(top, np.float32) + fade * np.asarray(horizon, np.float32)
    image[ground_y:] = ground
    return image.astype(np.uint8)
