// Ratings and comments without leaving the page. The forms work without this script; it only
// sends them with fetch, shows the answer in place, and keeps the summary current. When the
// feedback API cannot be reached, it says so and hides the forms: the piece still reads well.
(function () {
  "use strict";
  var section = document.getElementById("feedback");
  if (!section || !window.fetch) { return; }
  var api = section.getAttribute("data-api");
  var slug = encodeURIComponent(section.getAttribute("data-slug"));
  var ratingsUrl = api + "api/pieces/" + slug + "/ratings";
  var commentsUrl = api + "api/pieces/" + slug + "/comments";
  var live = section.querySelector(".feedback-live");
  var summary = section.querySelector(".rating-summary");

  function say(text, isError) {
    live.textContent = text;
    live.classList.toggle("error", Boolean(isError));
  }

  function unavailable() {
    section.classList.add("unavailable");
    section.querySelector(".feedback-unavailable").hidden = false;
  }

  // The mean to one decimal, halves rounded up, from the exact star counts: the same figure
  // as the page's (RatingSummary.shown_mean), which rounding data.mean again could miss.
  function shownMean(data) {
    var total = 0;
    for (var stars = 1; stars <= 5; stars++) { total += stars * (data.distribution[stars] || 0); }
    var tenths = Math.floor((20 * total + data.count) / (2 * data.count));
    return Math.floor(tenths / 10) + "." + (tenths % 10);
  }

  function showSummary(data) {
    if (!data.count) { summary.textContent = "No ratings yet."; return; }
    summary.textContent = "";
    var strong = document.createElement("strong");
    strong.textContent = shownMean(data);
    summary.append("Rated ", strong, " out of 5 by " + data.count + " reader" + (data.count === 1 ? "" : "s") + ".");
    if (data.yours) {
      var mine = section.querySelector('input[name="stars"][value="' + data.yours + '"]');
      if (mine) { mine.checked = true; }
    }
  }

  function send(url, payload) {
    return fetch(url, {
      method: "POST",
      credentials: "include",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(payload)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        return { ok: response.ok, body: body };
      });
    });
  }

  function problem(body) {
    var detail = body && body.detail;
    if (typeof detail === "string") { return detail; }
    if (detail && detail.message) { return detail.message; }
    if (Array.isArray(detail) && detail.length) { return "Check the form: " + detail[0].msg; }
    return "That did not work; please try again.";
  }

  function onRate(event) {
    event.preventDefault();
    var form = event.target;
    var chosen = form.querySelector('input[name="stars"]:checked');
    if (!chosen) { say("Choose from 1 to 5 stars first.", true); return; }
    var payload = { stars: Number(chosen.value), website: form.elements.website.value };
    send(ratingsUrl, payload).then(function (result) {
      if (!result.ok) { say(problem(result.body), true); return; }
      showSummary(result.body);
      say("Thank you: your rating is counted. Rating again replaces it.");
    }, unavailable);
  }

  function onComment(event) {
    event.preventDefault();
    var form = event.target;
    var payload = {
      name: form.elements.name.value,
      body: form.elements.body.value,
      website: form.elements.website.value
    };
    if (form.elements.parent_id) { payload.parent_id = Number(form.elements.parent_id.value); }
    send(commentsUrl, payload).then(function (result) {
      if (!result.ok) { say(problem(result.body), true); return; }
      form.reset();
      say(result.body.message || "Thank you.");
    }, unavailable);
  }

  section.querySelector("form.rate").addEventListener("submit", onRate);
  section.querySelectorAll("form.comment-form").forEach(function (form) {
    form.addEventListener("submit", onComment);
  });
  fetch(ratingsUrl, { credentials: "include", headers: { "Accept": "application/json" } })
    .then(function (response) {
      if (!response.ok) { throw new Error("feedback API answered " + response.status); }
      return response.json();
    })
    .then(showSummary, unavailable);
}());
