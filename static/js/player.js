/*
 * coachbench players: the task page's videos and its answer form.
 *
 * Each [data-player] plays one rendered segment (the server never sends more),
 * looping, at 0.25x to 2x, with frame steps of one source frame (data-frame-s). It counts the media time
 * actually played, not wall time and not seeks, so a study that asks for every
 * clip to be watched in full can check it here and on the server alike.
 *
 * Without JavaScript the videos keep the browser's own controls and the form
 * posts as a plain form; this file only adds to that.
 * The next item's clips load while this one is judged, and its players take them over.
 */
(function () {
  "use strict";

  // One frame of the source video, from the probe; 1/25 s when the server did not know it.
  var DEFAULT_FRAME_S = 1 / 25;
  // A jump larger than this between two timeupdates is a seek or a stall, not playback.
  var MAX_STEP_S = 1.5;
  // How near the end the last position must be for a jump back to count as a loop.
  var LOOP_WINDOW_S = 0.75;

  function Player(root, onChange) {
    this.root = root;
    this.video = root.querySelector("video");
    this.side = root.dataset.side;
    var frameS = Number(root.dataset.frameS);
    this.frameS = frameS > 0 && frameS <= 1 ? frameS : DEFAULT_FRAME_S;
    // The layout's width for the video, until its metadata arrives (set here: no style= in the markup).
    if (root.dataset.aspect) root.style.setProperty("--ar", root.dataset.aspect);
    this.requiredMs = Number(root.dataset.durationMs) - Number(root.dataset.toleranceMs);
    this.playedS = 0;
    this.last = null;
    this.ownSeek = false;
    this.onChange = onChange;
    this.badge = root.querySelector("[data-watched]");
    var task = root.closest("[data-task]");
    this.requireWatch = Boolean(task && task.dataset.requireWatch === "true");
    this.bar = root.querySelector(".player__bar");
    this.seek = root.querySelector("[data-act='seek']");
    this.now = root.querySelector("[data-now]");
    this.duration = root.querySelector("[data-duration]");
    this.toggleIcon = root.querySelector("[data-act='toggle'] use");
    this.muteIcon = root.querySelector("[data-act='mute'] use");
    this.fullButton = root.querySelector("[data-act='full']");
    this.video.controls = false;
    this.bar.hidden = false;
    // Full screen of this one clip: the whole player (its bar too) where the browser can, the bare video on iOS.
    if (this.fullButton) this.fullButton.hidden = !(document.fullscreenEnabled || this.video.webkitEnterFullscreen);
    this.bind();
    this.render();
    this.renderBadge();
  }

  Player.prototype.bind = function () {
    var self = this;
    var v = this.video;
    v.addEventListener("play", function () {
      self.last = v.currentTime;
      self.render();
      self.tick();
    });
    v.addEventListener("pause", function () {
      self.count(v.currentTime);
      self.last = null;
      self.render();
    });
    v.addEventListener("timeupdate", function () {
      if (!v.paused && !v.seeking && self.last !== null) {
        self.count(v.currentTime);
        self.last = v.currentTime;
      }
      self.render();
    });
    v.addEventListener("seeking", function () {
      // A loop restarts by seeking to 0: the stretch from the last update to the end was played.
      if (!self.ownSeek && self.last !== null && v.duration && self.last > v.duration - LOOP_WINDOW_S) {
        self.add(v.duration - self.last);
      }
      self.last = null;
    });
    v.addEventListener("seeked", function () {
      self.ownSeek = false;
      self.last = v.paused ? null : v.currentTime;
      self.render();
    });
    v.addEventListener("ended", function () {
      if (self.last !== null && v.duration) self.add(v.duration - self.last);
      self.last = null;
      self.render();
    });
    v.addEventListener("loadedmetadata", function () {
      // The rendered file knows its shape best (phone footage may be portrait).
      if (v.videoWidth && v.videoHeight) self.root.style.setProperty("--ar", (v.videoWidth / v.videoHeight).toFixed(4));
      self.render();
    });
    this.root.addEventListener("click", function (event) {
      var button = event.target.closest("[data-act]");
      if (event.target === v) self.toggle();
      if (!button || button.tagName === "SELECT" || button.tagName === "INPUT") return;
      var act = button.dataset.act;
      if (act === "toggle") self.toggle();
      else if (act === "back") self.step(-1);
      else if (act === "fwd") self.step(1);
      else if (act === "replay") self.replay();
      else if (act === "loop") self.setLoop(!v.loop);
      else if (act === "mute") self.setMuted(!v.muted);
      else if (act === "full") self.toggleFullscreen();
    });
    this.root.addEventListener("fullscreenchange", function () {
      var full = document.fullscreenElement === self.root;
      if (!self.fullButton) return;
      self.fullButton.setAttribute("aria-pressed", String(full));
      self.fullButton.setAttribute("aria-label", full ? "Leave full screen" : "Full screen");
      self.fullButton.querySelector("use").setAttribute("href", full ? "#i-exit-full" : "#i-full");
    });
    this.root.querySelector("[data-act='speed']").addEventListener("change", function (event) {
      v.playbackRate = Number(event.target.value);
    });
    this.seek.addEventListener("input", function () {
      if (!v.duration) return;
      self.jump((Number(self.seek.value) / 1000) * v.duration);
    });
  };

  Player.prototype.count = function (now) {
    if (this.last === null) return;
    var step = now - this.last;
    if (step > 0 && step <= MAX_STEP_S) this.add(step);
  };

  Player.prototype.add = function (seconds) {
    var before = this.satisfied();
    this.playedS += Math.max(0, seconds);
    if (this.satisfied() !== before) this.renderBadge();
    this.onChange();
  };

  // With a full-watch study the badge always says where the clip stands; otherwise only once watched.
  Player.prototype.renderBadge = function () {
    var done = this.satisfied();
    this.badge.hidden = !done && !this.requireWatch;
    this.badge.textContent = done ? "\u2713 " + gettext("watched") : gettext("play to the end");
    this.badge.classList.toggle("is-pending", !done);
  };

  // While playing, move the position bar every frame rather than four times a second.
  Player.prototype.tick = function () {
    var self = this;
    if (this.ticking) return;
    this.ticking = true;
    window.requestAnimationFrame(function frame() {
      if (self.video.paused || !self.root.isConnected) {
        self.ticking = false;
        return;
      }
      self.renderPosition();
      window.requestAnimationFrame(frame);
    });
  };

  Player.prototype.jump = function (seconds) {
    var v = this.video;
    this.count(v.currentTime);
    this.ownSeek = true;
    v.currentTime = Math.max(0, Math.min(seconds, (v.duration || seconds) - 0.001));
  };

  Player.prototype.play = function () {
    var promise = this.video.play();
    if (promise && promise.catch) promise.catch(function () {});
  };

  Player.prototype.toggle = function () {
    if (this.video.paused) this.play();
    else this.video.pause();
  };

  Player.prototype.step = function (frames) {
    this.video.pause();
    this.jump(this.video.currentTime + frames * this.frameS);
  };

  Player.prototype.replay = function () {
    this.jump(0);
    this.play();
  };

  Player.prototype.toggleFullscreen = function () {
    var v = this.video;
    if (document.fullscreenElement === this.root) {
      document.exitFullscreen().catch(function () {});
    } else if (document.fullscreenEnabled && this.root.requestFullscreen) {
      this.root.requestFullscreen().catch(function () {});
    } else if (v.webkitEnterFullscreen) {
      v.webkitEnterFullscreen();
    }
  };

  Player.prototype.setLoop = function (on) {
    this.video.loop = on;
    this.root.querySelector("[data-act='loop']").setAttribute("aria-pressed", String(on));
  };

  Player.prototype.setMuted = function (muted) {
    this.video.muted = muted;
    this.render();
  };

  Player.prototype.watchMs = function () {
    return Math.round(this.playedS * 1000);
  };

  Player.prototype.satisfied = function () {
    return this.watchMs() >= this.requiredMs;
  };

  Player.prototype.renderPosition = function () {
    var v = this.video;
    var d = v.duration || 0;
    this.seek.value = d ? Math.round((v.currentTime / d) * 1000) : 0;
    this.now.textContent = v.currentTime.toFixed(2);
    this.duration.textContent = d.toFixed(2);
  };

  Player.prototype.render = function () {
    var v = this.video;
    this.renderPosition();
    this.toggleIcon.setAttribute("href", v.paused ? "#i-play" : "#i-pause");
    this.muteIcon.setAttribute("href", v.muted ? "#i-muted" : "#i-sound");
    this.root.querySelector("[data-act='mute']").setAttribute("aria-pressed", String(!v.muted));
    this.root.classList.toggle("is-playing", !v.paused);
  };

  /* One task (or revise) page: its players, play-both, and the answer form's state. */
  function Task(root) {
    var self = this;
    this.root = root;
    this.form = root.querySelector("[data-answer-form]");
    this.submitButton = root.querySelector("[data-submit]");
    this.hint = root.querySelector("[data-hint]");
    this.requireWatch = root.dataset.requireWatch === "true";
    this.isPairwise = root.dataset.kind === "pairwise";
    this.players = Array.prototype.map.call(root.querySelectorAll("[data-player]"), function (el) {
      return new Player(el, function () {
        self.update();
      });
    });
    this.active = this.players.find(function (p) {
      return p.side !== "query";
    }) || this.players[0];
    this.players.forEach(function (player) {
      var mark = function () {
        self.setActive(player);
      };
      player.root.addEventListener("pointerdown", mark);
      player.root.addEventListener("focusin", mark);
    });
    // These buttons need this script, so the page shows them only once it runs.
    var both = root.querySelector("[data-play-both]");
    if (both) {
      both.hidden = false;
      both.addEventListener("click", function () {
        self.playBoth();
      });
    }
    root.querySelectorAll("[data-help]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        self.openHelp();
      });
    });
    if (this.form) {
      this.form.addEventListener("change", function () {
        self.update();
      });
      this.watchSaving();
    }
    this.setActive(this.active);
    this.update();
    this.lookAhead();
  }

  // Once this item's clips can play, reserve the next item; its clips preload in the hidden #preload.
  Task.prototype.lookAhead = function () {
    var url = this.root.dataset.lookAhead, box = document.getElementById("preload"), root = this.root;
    var videos = this.players.map(function (p) { return p.video; });
    var go = function () {
      if (box.dataset.after === url || !root.isConnected) return;
      box.dataset.after = url;
      box.querySelectorAll("video").forEach(unload);
      window.htmx.ajax("POST", url, { source: box, target: box, swap: "innerHTML" });
    };
    var check = function () {
      if (videos.every(function (v) { return v.readyState > 3; })) go();
    };
    if (!url || !box || !window.htmx) return;
    videos.forEach(function (v) { v.addEventListener("canplaythrough", check); });
    setTimeout(go, 4000);
    check();
  };

  function unload(video) {
    video.removeAttribute("src");
    video.load();
  }

  // After a swap, the new item's players take over the videos preloaded for them; the others stop loading.
  function adopt(event) {
    var box = document.getElementById("preload"), root = document.querySelector("[data-task]");
    if (!box || event.detail.target === box || (root && root.dataset.lookAhead === box.dataset.after)) return;
    box.querySelectorAll("video").forEach(function (kept) {
      var fresh = root && root.querySelector("video[src='" + kept.getAttribute("src") + "']");
      if (!fresh) return unload(kept);
      // Setting src, even to the same address, restarts the media load and drops the decoded data:
      // every other attribute is copied, src is already the one the page names.
      Array.prototype.forEach.call(fresh.attributes, function (a) {
        if (a.name !== "src" || kept.getAttribute("src") !== a.value) kept.setAttribute(a.name, a.value);
      });
      fresh.replaceWith(kept);
      unload(fresh);
      if (kept.autoplay) kept.play().catch(function () {});
    });
    box.textContent = "";
    delete box.dataset.after;
  }

  /* A submit the server could not take (503 while its database restarts, a 500) or that never reached it
     (network down, timeout): htmx swaps nothing, so the chosen answer stays selected; say so, and how to retry. */
  var SAVE_FAILED = {
    server: gettext("Your answer was not saved: the server could not store it just now. It is still selected below: press Submit to try again."),
    network: gettext("Your answer was not saved: the connection to the server was lost. It is still selected below: press Submit to try again once you are back online."),
  };

  Task.prototype.watchSaving = function () {
    var self = this;
    var form = this.form;
    var box = document.createElement("p");
    box.className = "alert alert--error answer__save-error";
    box.setAttribute("role", "alert");
    box.setAttribute("data-save-error", "");
    box.hidden = true;
    var actions = this.submitButton ? this.submitButton.closest(".answer__actions") : null;
    (actions ? actions.parentNode : form).insertBefore(box, actions);
    var show = function (kind) {
      box.textContent = SAVE_FAILED[kind];
      box.hidden = false;
      self.update();
    };
    form.addEventListener("htmx:beforeRequest", function () {
      box.hidden = true;
    });
    form.addEventListener("htmx:responseError", function () {
      show("server");
    });
    form.addEventListener("htmx:sendError", function () {
      show("network");
    });
    form.addEventListener("htmx:timeout", function () {
      show("network");
    });
  };

  Task.prototype.setActive = function (player) {
    if (!player) return;
    this.players.forEach(function (p) {
      p.root.classList.toggle("is-active", p === player);
    });
    this.active = player;
  };

  Task.prototype.candidates = function () {
    return this.players.filter(function (p) {
      return p.side !== "query";
    });
  };

  Task.prototype.playBoth = function () {
    this.candidates().forEach(function (p) {
      p.replay();
    });
  };

  Task.prototype.replayAll = function () {
    this.players.forEach(function (p) {
      p.replay();
    });
  };

  Task.prototype.chosen = function () {
    return this.form && this.form.querySelector("input[name='choice']:checked, input[name='score']:checked");
  };

  // What still keeps the answer from being submitted, in words; "" when nothing does.
  Task.prototype.blocker = function () {
    if (!this.form) return "";
    if (!this.chosen()) {
      return this.isPairwise ? gettext("Choose an answer: 1 to 4.") : gettext("Choose a score.");
    }
    if (this.requireWatch) {
      var unwatched = this.players.filter(function (p) {
        return !p.satisfied();
      });
      if (unwatched.length) {
        return interpolate(gettext("Play to the end first: %s."), [unwatched.map(function (p) {
          return p.root.querySelector(".player__label").textContent.toLowerCase();
        }).join(", ")]);
      }
    }
    return "";
  };

  Task.prototype.update = function () {
    if (!this.form) return;
    var form = this.form;
    this.players.forEach(function (p) {
      var input = form.querySelector("[data-watch='" + p.side + "']");
      if (input) input.value = String(p.watchMs());
    });
    var blocker = this.blocker();
    // Disabled for real, so a click can't slip past; the hint beside it says what is missing.
    this.submitButton.disabled = Boolean(blocker);
    this.submitButton.title = blocker || gettext("Submit (Enter)");
    if (this.hint) this.hint.textContent = blocker;
  };

  Task.prototype.flashHint = function () {
    if (!this.hint) return;
    var hint = this.hint;
    hint.classList.remove("is-flashing");
    void hint.offsetWidth; // restart the animation
    hint.classList.add("is-flashing");
    window.clearTimeout(this.hintTimer);
    this.hintTimer = window.setTimeout(function () {
      hint.classList.remove("is-flashing");
    }, 2500);
  };

  Task.prototype.submit = function () {
    if (!this.form) return;
    if (this.blocker()) {
      this.flashHint();
      return;
    }
    this.form.requestSubmit(this.submitButton);
  };

  Task.prototype.choose = function (key) {
    if (!this.form) return false;
    var input = this.form.querySelector("input[data-key='" + key + "']");
    if (!input) return false;
    input.checked = true;
    input.focus({ preventScroll: true });
    this.update();
    return true;
  };

  Task.prototype.openHelp = function () {
    var dialog = document.getElementById("help-dialog");
    if (dialog && !dialog.open) dialog.showModal();
  };

  var current = null;

  function init(scope) {
    var root = scope.matches && scope.matches("[data-task]") ? scope : scope.querySelector("[data-task]");
    if (!root || root.coachbenchTask) return;
    root.coachbenchTask = current = new Task(root);
    if (scope !== document.body && scope !== document) root.focus({ preventScroll: true });
  }

  window.coachbench = {
    task: function () {
      return current && current.root.isConnected ? current : null;
    },
  };

  // In the swap's own task: before the new markup's videos start loading, and before init.
  document.addEventListener("htmx:afterSwap", adopt);

  if (window.htmx) window.htmx.onLoad(init);
  else document.addEventListener("DOMContentLoaded", function () {
    init(document);
  });
})();
