// Passkey ceremonies: adding a passkey on the account page, and signing in
// with one from the sign-in page (the email field's autofill and the
// "Sign in with a passkey" button). The server keeps each challenge in the
// session and checks everything; this only moves bytes between it and the
// browser's WebAuthn API.
(function () {
  "use strict";
  if (window.__shelfPasskeys) return;
  window.__shelfPasskeys = true;

  function toB64url(buf) {
    var bytes = new Uint8Array(buf), s = "";
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function fromB64url(str) {
    var s = str.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }
  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.content : "";
  }
  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf() },
      body: JSON.stringify(body || {})
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (json) { return { status: res.status, json: json }; });
    });
  }
  function descriptors(list) {
    return (list || []).map(function (d) { return Object.assign({}, d, { id: fromB64url(d.id) }); });
  }
  function creationOptions(o) {
    var p = Object.assign({}, o.publicKey);
    p.challenge = fromB64url(p.challenge);
    p.user = Object.assign({}, p.user, { id: fromB64url(p.user.id) });
    p.excludeCredentials = descriptors(p.excludeCredentials);
    return p;
  }
  function requestOptions(o) {
    var p = Object.assign({}, o.publicKey);
    p.challenge = fromB64url(p.challenge);
    if (p.allowCredentials) p.allowCredentials = descriptors(p.allowCredentials);
    return p;
  }
  function credentialJSON(cred) {
    var r = cred.response, out = {
      id: cred.id, rawId: toB64url(cred.rawId), type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: { clientDataJSON: toB64url(r.clientDataJSON) }
    };
    if (r.attestationObject) {
      out.response.attestationObject = toB64url(r.attestationObject);
      out.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      out.response.authenticatorData = toB64url(r.authenticatorData);
      out.response.signature = toB64url(r.signature);
      if (r.userHandle) out.response.userHandle = toB64url(r.userHandle);
    }
    return out;
  }
  function go(to) {
    var u = new URL(to || "/", location.href);
    if (u.pathname === location.pathname && u.search === location.search) {
      location.hash = u.hash;
      location.reload();
    } else {
      location.assign(u.href);
    }
  }
  function show(el, msg) {
    if (!el) return;
    el.textContent = msg;
    el.hidden = !msg;
  }
  function cancelled(err) {
    return err && (err.name === "AbortError" || err.name === "NotAllowedError");
  }

  // ---- Adding a passkey (account page) ----
  var addForm = document.getElementById("passkey-add-form");
  if (addForm && window.PublicKeyCredential) {
    var addError = document.getElementById("passkey-add-error");
    var addButton = document.getElementById("passkey-add");
    addForm.addEventListener("submit", function (ev) {
      ev.preventDefault();
      show(addError, "");
      addButton.disabled = true;
      var name = (document.getElementById("passkey-new-name") || {}).value || "";
      post(addButton.dataset.optionsUrl).then(function (res) {
        if (res.json.reauth) { location.assign(res.json.reauth); return null; }
        if (res.status !== 200) throw new Error(res.json.error || "Could not start adding a passkey.");
        return navigator.credentials.create({ publicKey: creationOptions(res.json) });
      }).then(function (cred) {
        if (!cred) return null;
        return post(addButton.dataset.finishUrl + "?name=" + encodeURIComponent(name), credentialJSON(cred));
      }).then(function (res) {
        if (!res) return;
        if (res.json.reauth) { location.assign(res.json.reauth); return; }
        if (res.status !== 200) throw new Error(res.json.error || "The passkey could not be added.");
        go(res.json.redirect);
      }).catch(function (err) {
        show(addError, cancelled(err) ? "No passkey was added." : err.message);
      }).finally(function () { addButton.disabled = false; });
    });
  }

  // ---- Signing in (sign-in page) ----
  var box = document.getElementById("passkey-sign-in");
  if (box && window.PublicKeyCredential) {
    var errorEl = document.getElementById("passkey-error");
    var button = document.getElementById("passkey-button");
    var pending = null; // the autofill request, aborted before the button's
    var autofillOptions = Promise.resolve(); // its challenge, which the button's must replace, not race
    var remember = document.getElementById("remember");

    var signIn = function (mediation) {
      var controller = new AbortController();
      if (mediation) pending = controller;
      var options = post(box.dataset.optionsUrl);
      if (mediation) autofillOptions = options.catch(function () {});
      return options.then(function (res) {
        if (res.status !== 200) throw new Error(res.json.error || "Could not start signing in with a passkey.");
        var opts = { publicKey: requestOptions(res.json), signal: controller.signal };
        if (mediation) opts.mediation = mediation;
        return navigator.credentials.get(opts);
      }).then(function (cred) {
        var q = "?next=" + encodeURIComponent(box.dataset.next || "/") + (remember && remember.checked ? "&remember=1" : "");
        return post(box.dataset.finishUrl + q, credentialJSON(cred));
      }).then(function (res) {
        if (res.status !== 200) throw new Error(res.json.error || "That passkey did not sign you in.");
        go(res.json.redirect);
      });
    };

    button.hidden = false;
    button.addEventListener("click", function () {
      show(errorEl, "");
      if (pending) { pending.abort(); pending = null; }
      button.disabled = true;
      autofillOptions.then(function () { return signIn(null); }).catch(function (err) {
        show(errorEl, cancelled(err) ? "Signing in with a passkey was cancelled." : err.message);
      }).finally(function () { button.disabled = false; });
    });

    if (box.dataset.autofill !== "off" && PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (ok) {
        if (!ok) return;
        signIn("conditional").catch(function (err) {
          if (!cancelled(err)) show(errorEl, err.message);
        });
      });
    }
  }
})();
