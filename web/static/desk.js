// The web desk's script (served by the desk itself; no inline script anywhere, see the
// Content-Security-Policy). It works without Telegram's telegram-web-app.js, which cannot
// load offline: the login data and the theme come from the URL fragment that Telegram
// opens a Mini App with (#tgWebAppData=...&tgWebAppThemeParams=...).
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.add("js");
  var THEME_KEY = "desk.theme";

  function fragment() {
    var hash = window.location.hash;
    return new URLSearchParams(hash.charAt(0) === "#" ? hash.slice(1) : hash);
  }

  // Telegram's theme colours as CSS variables (--tg-theme-bg-color ...).
  function applyTheme(params) {
    if (!params || typeof params !== "object") return;
    Object.keys(params).forEach(function (key) {
      var value = String(params[key]);
      if (/^[a-z_]{1,40}$/.test(key) && /^#[0-9a-fA-F]{3,8}$/.test(value)) {
        root.style.setProperty("--tg-theme-" + key.replace(/_/g, "-"), value);
      }
    });
  }

  function storedTheme() {
    try { return JSON.parse(sessionStorage.getItem(THEME_KEY) || "null"); } catch (e) { return null; }
  }

  function keepTheme(params) {
    try { sessionStorage.setItem(THEME_KEY, JSON.stringify(params)); } catch (e) { /* private mode */ }
  }

  var themeText = fragment().get("tgWebAppThemeParams");
  if (themeText) {
    try { keepTheme(JSON.parse(themeText)); } catch (e) { /* not JSON: keep the old one */ }
  }
  applyTheme(storedTheme());

  // With Telegram's script (inside Telegram, online): live theme changes, the back button.
  function withTelegram() {
    var app = window.Telegram && window.Telegram.WebApp;
    if (!app) return;
    app.ready();
    app.expand();
    if (app.themeParams) { keepTheme(app.themeParams); applyTheme(app.themeParams); }
    app.onEvent("themeChanged", function () { keepTheme(app.themeParams); applyTheme(app.themeParams); });
    var back = document.querySelector("[data-back]");
    if (back && app.BackButton) {
      app.BackButton.show();
      app.BackButton.onClick(function () { window.location.href = back.getAttribute("href"); });
    }
  }
  window.addEventListener("load", withTelegram);

  // Sign-in: exchange the Mini App login data, or a one-time link's token, for a session.
  function signIn(entry) {
    var params = fragment();
    var status = document.getElementById("entry-status");
    var initData = params.get("tgWebAppData");
    var token = params.get("login");
    var queue = entry.getAttribute("data-queue");
    if (!initData && !token) { window.location.replace(queue); return; }
    var url = initData ? entry.getAttribute("data-telegram") : entry.getAttribute("data-link");
    var body = initData ? { init_data: initData } : { token: token };
    if (token) { history.replaceState(null, "", window.location.pathname); }
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().then(function (answer) {
        if (response.ok && answer.next) { window.location.replace(answer.next); }
        else { status.textContent = answer.error || response.statusText; status.className = "notice"; }
      });
    }).catch(function () { status.textContent = "⚠"; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var entry = document.getElementById("entry");
    if (entry) signIn(entry);
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
    var bulk = document.getElementById("bulk");
    if (bulk) bulkForm(bulk);
  });

  // Bulk actions: "select all on this page", the count of ticked rows, and only the chosen
  // action's inputs (the others disabled, so they are neither checked nor sent).
  function bulkForm(form) {
    var boxes = Array.prototype.slice.call(document.querySelectorAll("input[name=item][form=bulk]"));
    var all = document.getElementById("select-all");
    var count = document.getElementById("bulk-count");
    var choice = form.querySelector("[data-bulk-action]");
    function update() {
      var ticked = boxes.filter(function (box) { return box.checked; }).length;
      all.checked = ticked > 0 && ticked === boxes.length;
      all.indeterminate = ticked > 0 && ticked < boxes.length;
      count.textContent = ticked ? count.getAttribute("data-template").replace("{n}", ticked) : "";
    }
    function fields() {
      form.querySelectorAll("[data-bulk-fields]").forEach(function (set) {
        var chosen = set.getAttribute("data-bulk-fields") === choice.value;
        set.hidden = !chosen;
        set.disabled = !chosen;
      });
    }
    all.addEventListener("change", function () {
      boxes.forEach(function (box) { box.checked = all.checked; });
      update();
    });
    boxes.forEach(function (box) { box.addEventListener("change", update); });
    choice.addEventListener("change", fields);
    update();
    fields();
  }
})();
