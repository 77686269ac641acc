"""The demo gallery: stick-figure athletes performing sports skills, right and wrong.

Everything is drawn with numpy and encoded with PyAV, so ``seed_demo`` needs no
network and no data files. Correct and faulty executions differ in the pixels
(knees that never bend, a ball released from the chest, a head that lifts), so
the visual retrieval methods have something real to tell apart. Plain Python,
no Django import.
"""

from __future__ import annotations
