/* Direct upload of evidence files: browser → object storage, never through the app.
 *
 * For every <form data-upload> (see app/documents/templates/documents/_upload.html):
 *   1. POST {presign url} (JSON, X-CSRFToken) → a presigned POST for a key the server chose;
 *   2. POST the file straight to storage with FormData (policy fields first, the file last),
 *      showing the upload progress;
 *   3. POST {confirm url} → the server checks the object and queues its verification;
 *   4. poll {status url} until the document is accepted or rejected (with the reason).
 * The form fires "document:accepted" / "document:rejected" (detail = the status JSON) so that the
 * page can refresh what depends on it. Texts come from data-msg-* attributes (translated server-side).
 * No third-party code, no inline script (CSP script-src 'self').
 */
(function () {
  "use strict";
  if (window.ocopUploadReady) { return; }  // the macro includes this file once per form
  window.ocopUploadReady = true;

  var TYPES_BY_EXTENSION = {
    pdf: "application/pdf", jpg: "image/jpeg", jpeg: "image/jpeg", png: "image/png", webp: "image/webp",
    docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
  };
  var POLL_FIRST_MS = 1000, POLL_MAX_MS = 5000, POLL_SLOW_AFTER_MS = 3 * 60 * 1000, POLL_GIVE_UP_MS = 15 * 60 * 1000;

  function contentTypeOf(file) {
    if (file.type) { return file.type; }
    var match = /\.([a-z0-9]+)$/i.exec(file.name || "");
    return (match && TYPES_BY_EXTENSION[match[1].toLowerCase()]) || "application/octet-stream";
  }

  function jsonRequest(url, method, csrf, body) {
    var options = {
      method: method,
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": csrf }
    };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(url, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var message = typeof data.error === "string" ? data.error : "";  // {"error": 404} says nothing
          var error = new Error(message || String(response.status));
          error.fromServer = Boolean(message);
          throw error;
        }
        return data;
      });
    });
  }

  function sendToStorage(upload, file, onProgress) {
    return new Promise(function (resolve, reject) {
      var form = new FormData();
      Object.keys(upload.fields).forEach(function (name) { form.append(name, upload.fields[name]); });
      form.append("file", file);  // S3 ignores every field after the file: it must come last
      var xhr = new XMLHttpRequest();
      xhr.open("POST", upload.url);
      xhr.upload.addEventListener("progress", function (event) {
        if (event.lengthComputable) { onProgress(event.loaded / event.total); }
      });
      xhr.addEventListener("load", function () {
        if (xhr.status >= 200 && xhr.status < 300) { resolve(); return; }
        var error = new Error("storage " + xhr.status);
        error.storageRefused = true;
        reject(error);
      });
      xhr.addEventListener("error", function () { reject(new Error("network")); });
      xhr.addEventListener("abort", function () { reject(new Error("aborted")); });
      xhr.send(form);
    });
  }

  function setUp(form) {
    if (form.dataset.uploadReady) { return; }
    form.dataset.uploadReady = "1";
    var input = form.querySelector('input[type="file"]');
    var button = form.querySelector('button[type="submit"]');
    var progress = form.querySelector("[data-upload-progress]");
    var status = form.querySelector("[data-upload-status]");
    var msg = function (name) { return form.getAttribute("data-msg-" + name) || ""; };
    var field = function (name) {
      var element = form.querySelector('input[name="' + name + '"]');
      return element ? element.value : null;
    };

    function show(text, state) {
      status.textContent = text;
      status.setAttribute("data-state", state || "");
      form.setAttribute("data-upload-state", state || "");
    }

    function showProgress(fraction) {
      progress.hidden = false;
      progress.value = Math.round(fraction * 100);
    }

    function finished(document) {
      button.disabled = false;
      progress.hidden = true;
      if (document.status === "accepted") {
        show(msg("accepted"), "accepted");
        var link = window.document.createElement("a");
        link.href = document.download_url;
        link.textContent = msg("download") + " " + document.filename;
        status.appendChild(window.document.createTextNode(" "));
        status.appendChild(link);
      } else {
        show(msg("rejected") + " " + (document.reject_reason || ""), "rejected");
      }
      form.dispatchEvent(new CustomEvent("document:" + document.status, { bubbles: true, detail: document }));
      input.value = "";
    }

    function poll(url, csrf, started, delay) {
      window.setTimeout(function () {
        jsonRequest(url, "GET", csrf).then(function (document) {
          if (document.status === "accepted" || document.status === "rejected") { finished(document); return; }
          var waited = Date.now() - started;
          show(waited > POLL_SLOW_AFTER_MS ? msg("slow") : msg(document.status === "verifying" ? "verifying" : "pending"),
               document.status);
          if (waited < POLL_GIVE_UP_MS) { poll(url, csrf, started, Math.min(delay * 1.5, POLL_MAX_MS)); }
          else { button.disabled = false; }
        }).catch(function () {
          // A dropped connection on a provincial network: keep trying, more slowly.
          if (Date.now() - started < POLL_GIVE_UP_MS) { poll(url, csrf, started, POLL_MAX_MS); }
        });
      }, delay);
    }

    function uploadOne(file, csrf) {
      var request = {
        requirement: field("requirement"),
        product_id: field("product_id"),
        producer_id: field("producer_id"),
        issued_on: field("issued_on"),
        valid_until: field("valid_until"),
        filename: file.name,
        content_type: contentTypeOf(file),
        size: file.size
      };
      show(msg("preparing"), "preparing");
      showProgress(0);
      return jsonRequest(form.getAttribute("data-presign-url"), "POST", csrf, request).then(function (issued) {
        show(msg("uploading"), "uploading");
        return sendToStorage(issued.upload, file, showProgress).then(function () {
          showProgress(1);
          show(msg("confirming"), "confirming");
          return jsonRequest(issued.confirm_url, "POST", csrf, {});
        }).then(function () {
          show(msg("pending"), "pending");
          form.dispatchEvent(new CustomEvent("document:pending", { bubbles: true, detail: {} }));
          poll(issued.status_url, csrf, Date.now(), POLL_FIRST_MS);
        });
      });
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      // Several files where the slot takes several (the photos of the samples), one after the other.
      var files = Array.prototype.slice.call(input.files || []);
      if (!files.length) { show(msg("choose"), "error"); return; }
      var maxBytes = parseInt(form.getAttribute("data-max-bytes"), 10);
      if (maxBytes && files.some(function (file) { return file.size > maxBytes; })) { show(msg("too-large"), "error"); return; }
      var csrf = field("csrf_token");
      button.disabled = true;
      files.reduce(function (previous, file) {
        return previous.then(function () { return uploadOne(file, csrf); });
      }, Promise.resolve()).catch(function (error) {
        button.disabled = false;
        progress.hidden = true;
        show(error.fromServer ? error.message : (error.storageRefused ? msg("storage-refused") : msg("failed")), "error");
      });
    });
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-upload]"), setUp);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); }
  else { init(); }
}());
