// Front Door simulator: one conversation shown as an SMS thread and a Telegram chat.
// The server renders every reply for both media; this script only places them.
// No external requests: everything goes to /simulator/messages on this server.
(function () {
  "use strict";

  var SESSION_KEY = "frontdoor-simulator-session";
  var LOG_KEY = "frontdoor-simulator-log";
  var EXIT_PAUSE_MS = 2500;
  var ENDPOINT = "/simulator/messages";
  var WAITING = "/simulator/waiting";
  var POLL_MS = 3000; // a worker's lines in a live chat arrive when the page asks
  var SHOWN_KEY = "frontdoor-simulator-shown";

  var smsThread = document.getElementById("sms-thread");
  var tgThread = document.getElementById("telegram-thread");
  var form = document.getElementById("composer");
  var input = document.getElementById("message");
  var sendButton = document.getElementById("send");
  var retryButton = document.getElementById("retry");
  var newButton = document.getElementById("new-conversation");
  var statusLine = document.getElementById("status");
  var emptySms = smsThread.querySelector(".empty");
  var emptyTg = tgThread.querySelector(".empty");

  var memory = {}; // used when sessionStorage is unavailable (private modes)
  var busy = false;
  var pending = null; // a payload that failed to arrive; retried with the same message_id
  var entries = [];

  function store(key, value) {
    try {
      if (value === null) { sessionStorage.removeItem(key); } else { sessionStorage.setItem(key, value); }
    } catch (e) {
      if (value === null) { delete memory[key]; } else { memory[key] = value; }
    }
  }

  function recall(key) {
    try { return sessionStorage.getItem(key); } catch (e) { return memory[key] || null; }
  }

  function randomId(bytes) {
    var data = new Uint8Array(bytes);
    crypto.getRandomValues(data);
    return Array.prototype.map.call(data, function (b) {
      return b.toString(16).padStart(2, "0");
    }).join("");
  }

  function sessionId() {
    var id = recall(SESSION_KEY);
    if (!id) {
      id = randomId(16);
      store(SESSION_KEY, id);
    }
    return id;
  }

  function setStatus(text, problem) {
    statusLine.textContent = text || "";
    statusLine.classList.toggle("problem", Boolean(problem));
  }

  function setBusy(value) {
    busy = value;
    sendButton.disabled = value;
    retryButton.disabled = value;
    tgThread.setAttribute("aria-busy", value ? "true" : "false");
  }

  function scrollDown() {
    smsThread.scrollTop = smsThread.scrollHeight;
    tgThread.scrollTop = tgThread.scrollHeight;
  }

  function showEmptyHints() {
    var hasMessages = entries.length > 0;
    emptySms.hidden = hasMessages;
    emptyTg.hidden = hasMessages;
  }

  function wrapper(who, direction) {
    var box = document.createElement("div");
    box.className = "message " + who;
    var bubble = document.createElement("div");
    bubble.className = "bubble";
    if (direction) { bubble.setAttribute("dir", direction); }
    box.appendChild(bubble);
    return { box: box, bubble: bubble };
  }

  function personText(target, text) {
    if (text === "") {
      var blank = document.createElement("span");
      blank.className = "blank";
      blank.textContent = "(empty message)";
      target.appendChild(blank);
    } else {
      target.textContent = text;
    }
  }

  function drawPerson(entry) {
    var sms = wrapper("person", "auto");
    personText(sms.bubble, entry.sms);
    smsThread.appendChild(sms.box);
    var tg = wrapper("person", "auto");
    personText(tg.bubble, entry.telegram);
    tgThread.appendChild(tg.box);
  }

  function drawBot(reply) {
    var sms = wrapper("bot", reply.direction);
    sms.bubble.textContent = reply.sms;
    smsThread.appendChild(sms.box);

    var tg = wrapper("bot", reply.direction);
    // The server escapes the text and adds only <b>; nothing else can appear here.
    tg.bubble.innerHTML = reply.html;
    if (reply.options && reply.options.length) {
      var keyboard = document.createElement("div");
      keyboard.className = "keyboard";
      keyboard.setAttribute("dir", reply.direction);
      reply.options.forEach(function (option, index) {
        var button = document.createElement("button");
        button.type = "button";
        button.textContent = option.label;
        button.addEventListener("click", function () {
          press(option, index);
        });
        keyboard.appendChild(button);
      });
      tg.box.appendChild(keyboard);
    }
    tgThread.appendChild(tg.box);
  }

  function drawWorker(entry) {
    // A worker's line is plain text, shown as typed in both media.
    [smsThread, tgThread].forEach(function (thread) {
      var line = wrapper("bot worker", "auto");
      line.bubble.textContent = entry.text;
      thread.appendChild(line.box);
    });
  }

  function draw(entry) {
    if (entry.who === "person") { drawPerson(entry); }
    else if (entry.who === "worker") { drawWorker(entry); }
    else { drawBot(entry.reply); }
  }

  function save() {
    store(LOG_KEY, JSON.stringify(entries));
  }

  function add(entry) {
    entries.push(entry);
    draw(entry);
    save();
    showEmptyHints();
  }

  function clearViews() {
    entries = [];
    store(LOG_KEY, null);
    Array.prototype.slice.call(smsThread.querySelectorAll(".message")).forEach(function (n) { n.remove(); });
    Array.prototype.slice.call(tgThread.querySelectorAll(".message")).forEach(function (n) { n.remove(); });
    showEmptyHints();
  }

  function restore() {
    try {
      var saved = JSON.parse(recall(LOG_KEY) || "[]");
      if (Array.isArray(saved)) {
        saved.forEach(function (entry) { entries.push(entry); draw(entry); });
      }
    } catch (e) {
      entries = [];
    }
    showEmptyHints();
    scrollDown();
  }

  function quickExit() {
    setBusy(true);
    setStatus("Quick exit: this conversation is being cleared.");
    window.setTimeout(function () {
      clearViews();
      setBusy(false);
      setStatus("The conversation was cleared, as Telegram's quick exit will do.");
      input.focus();
    }, EXIT_PAUSE_MS);
  }

  function deliver(payload) {
    setBusy(true);
    setStatus("Sending…");
    return fetch(ENDPOINT, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(payload.body),
      credentials: "same-origin",
      cache: "no-store"
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var error = new Error(data.error || "Front Door could not answer just now.");
          error.retry = response.status >= 500;
          throw error;
        }
        return data;
      });
    }).then(function (data) {
      pending = null;
      retryButton.hidden = true;
      if (payload.text !== null) { input.value = ""; }
      add({ who: "person", sms: payload.smsShown, telegram: payload.telegramShown });
      var exiting = false;
      (data.replies || []).forEach(function (reply) {
        add({ who: "bot", reply: reply });
        if (reply.action === "quick_exit") { exiting = true; }
      });
      scrollDown();
      setBusy(false);
      setStatus("");
      if (exiting) { quickExit(); }
    }).catch(function (error) {
      setBusy(false);
      var retry = error.retry !== false;
      pending = retry ? payload : null;
      retryButton.hidden = !retry;
      setStatus(
        error instanceof TypeError
          ? "Could not reach Front Door. Nothing was lost: press Try again."
          : error.message,
        true
      );
    });
  }

  function send(body, smsShown, telegramShown) {
    if (busy) { return; }
    body.session = sessionId();
    body.message_id = randomId(16);
    deliver({
      body: body,
      text: body.text === undefined ? null : body.text,
      smsShown: smsShown,
      telegramShown: telegramShown
    });
  }

  function press(option, index) {
    // On SMS the same answer is typed as its number; on Telegram it is the button.
    send({ text: null, choice: option.id }, String(index + 1), option.label);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value;
    send({ text: text, choice: null }, text, text);
    input.focus();
  });

  retryButton.addEventListener("click", function () {
    if (pending && !busy) { deliver(pending); }
  });

  newButton.addEventListener("click", function () {
    if (busy) { return; }
    store(SESSION_KEY, null);
    store(SHOWN_KEY, null);
    pending = null;
    retryButton.hidden = true;
    clearViews();
    sessionId();
    setStatus("A new test conversation has started.");
    input.focus();
  });

  function poll() {
    if (busy || document.hidden) { return; }
    var shown = Number(recall(SHOWN_KEY) || "0");
    fetch(WAITING, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify({ session: sessionId(), after: shown }),
      credentials: "same-origin",
      cache: "no-store"
    }).then(function (response) {
      return response.ok ? response.json() : { messages: [] };
    }).then(function (data) {
      (data.messages || []).forEach(function (message) {
        if (message.id <= shown) { return; } // handed over again: already on the page
        shown = message.id;
        store(SHOWN_KEY, String(shown));
        add({ who: "worker", text: message.text });
      });
      scrollDown();
    }).catch(function () { /* asked again at the next tick */ });
  }

  restore();
  window.setInterval(poll, POLL_MS);
})();
