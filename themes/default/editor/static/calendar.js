// Drag and drop on the dashboard calendar. Every move is also possible with the plain form
// under each item's "Move" button; this script only adds the pointer shortcut.
(function () {
  "use strict";
  var root = document.querySelector("[data-calendar]");
  var status = document.getElementById("calendar-status");
  if (!root || !window.fetch) return;
  var dragged = null;

  function say(text, isError) {
    status.textContent = text;
    status.className = isError ? "error-box" : "ok-box";
  }

  var kept = window.sessionStorage && sessionStorage.getItem("calendar-message");
  if (kept) {
    sessionStorage.removeItem("calendar-message");
    say(kept, false);
  }

  function zoneFor(event) {
    var zone = event.target.closest && event.target.closest("[data-drop-date]");
    if (!zone || !dragged) return null;
    // A dated item keeps its lane; an item from the backlog takes the lane it is dropped on.
    if (dragged.dataset.lane && dragged.dataset.lane !== zone.dataset.lane) return null;
    return zone;
  }

  function clearTargets() {
    root.querySelectorAll(".drop-target").forEach(function (el) { el.classList.remove("drop-target"); });
  }

  root.addEventListener("dragstart", function (event) {
    var item = event.target.closest && event.target.closest("[data-slug]");
    if (!item) return;
    dragged = item;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", item.dataset.slug);
    root.classList.add("dragging");
  });

  root.addEventListener("dragend", function () {
    dragged = null;
    root.classList.remove("dragging");
    clearTargets();
  });

  root.addEventListener("dragover", function (event) {
    var zone = zoneFor(event);
    if (!zone) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    clearTargets();
    zone.classList.add("drop-target");
  });

  root.addEventListener("drop", function (event) {
    var zone = zoneFor(event);
    if (!zone) return;
    event.preventDefault();
    var item = dragged;
    var body = {
      slug: item.dataset.slug,
      lane: item.dataset.lane || zone.dataset.lane,
      date: zone.dataset.dropDate,
      version: parseInt(item.dataset.version, 10)
    };
    move(body, item.dataset.title);
  });

  function move(body, title) {
    say("Moving “" + title + "”…", false);
    fetch(root.dataset.endpoint, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": root.dataset.csrf },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        answer(response.status, data, body, title);
      });
    }).catch(function () {
      say("Not moved: the server could not be reached. Check your connection and try again.", true);
    });
  }

  function answer(code, data, body, title) {
    if (code === 200) {
      var text = "Moved the " + body.lane + " date of “" + title + "” to " + body.date + ".";
      if (window.sessionStorage) sessionStorage.setItem("calendar-message", text);
      window.location.reload();
      return;
    }
    var detail = data.detail || {};
    if (code === 409) {
      say("Not moved: “" + title + "” was changed by someone else after this page was loaded" +
        (detail.current ? " (it is now at version " + detail.current.version + ")" : "") +
        ". Reload the page to see its current dates, then move it again.", true);
    } else if (code === 401 || code === 403) {
      say("Not moved: " + (detail.message || detail || "sign in again as an editor") + ".", true);
    } else {
      say("Not moved: " + (detail.message || "the server refused the move (" + code + ")") + ".", true);
    }
  }
})();
