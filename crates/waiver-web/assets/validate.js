// Waiver: checks the application form as the user types. Progressive enhancement only: the
// form posts and is validated on the server without this script. The rules are never written
// here: the draft is sent to POST /applications/validate, which runs the same domain
// validation as a submit and answers the problems by input id, in the page's language.
// Served from this origin (CSP script-src 'self'); no inline code, no library.
(function () {
  'use strict';
  var form = document.querySelector('form[data-validate]');
  if (!form || !window.fetch || !window.URLSearchParams || !window.FormData) return;
  var url = form.getAttribute('data-validate');
  var touched = {};
  var timer = null;
  var latest = 0;
  // Groups: an error on the group shows once any of its fields has been touched.
  var groups = { monthly_plan: /^(plan_|quantity$|unit$)/ };

  function groupTouched(id) {
    var re = groups[id];
    if (!re) return touched[id];
    return Object.keys(touched).some(function (k) { return re.test(k); });
  }

  function show(id, message) {
    var el = document.getElementById(id);
    if (!el) return;
    var errId = id + '-error';
    var p = document.getElementById(errId);
    var isGroup = el.tagName === 'FIELDSET';
    if (message) {
      if (!p) {
        p = document.createElement('p');
        p.className = 'error';
        p.id = errId;
        if (isGroup) {
          var legendHint = el.querySelector('.hint') || el.querySelector('legend');
          el.insertBefore(p, legendHint.nextSibling);
        } else {
          el.parentNode.insertBefore(p, el);
        }
      }
      if (p.textContent !== message) p.textContent = message;
      if (!isGroup) el.setAttribute('aria-invalid', 'true');
      el.setAttribute('aria-describedby', errId);
    } else if (p) {
      p.parentNode.removeChild(p);
      el.removeAttribute('aria-invalid');
      el.removeAttribute('aria-describedby');
    }
  }

  function apply(errors) {
    var ids = {};
    Array.prototype.forEach.call(form.querySelectorAll('[id]'), function (el) { ids[el.id] = true; });
    Object.keys(ids).forEach(function (id) {
      if (/-error$/.test(id)) return;
      if (!groupTouched(id)) return;
      show(id, errors[id] || '');
    });
    // The summary a submit left at the top loses each problem once it is fixed.
    var summary = document.querySelector('.error-summary');
    if (summary) {
      Array.prototype.forEach.call(summary.querySelectorAll('a[href^="#"]'), function (a) {
        var id = a.getAttribute('href').slice(1);
        if (groupTouched(id) && !errors[id] && a.parentNode) a.parentNode.parentNode.removeChild(a.parentNode);
      });
      if (!summary.querySelector('li')) summary.parentNode.removeChild(summary);
    }
    form.setAttribute('data-checked', String(latest));
  }

  function check() {
    timer = null;
    var mine = ++latest;
    var body = new URLSearchParams(new FormData(form));
    fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      body: body.toString()
    }).then(function (r) {
      return r.ok ? r.json() : null;
    }).then(function (answer) {
      // Only the answer to the latest draft counts.
      if (answer && mine === latest) apply(answer.errors || {});
    }).catch(function () { /* the server checks again on submit */ });
  }

  function later(delay) {
    if (timer) clearTimeout(timer);
    timer = setTimeout(check, delay);
  }

  form.addEventListener('input', function (e) {
    if (e.target && e.target.id) touched[e.target.id] = true;
    later(350);
  });
  form.addEventListener('change', function (e) {
    if (e.target && e.target.id) touched[e.target.id] = true;
    later(0);
  });
  form.addEventListener('focusout', function (e) {
    if (e.target && e.target.id && touched[e.target.id]) later(0);
  });
  // After a submit the server marked fields already: keep checking those as they change.
  Array.prototype.forEach.call(form.querySelectorAll('[aria-invalid=true]'), function (el) {
    touched[el.id] = true;
  });
}());
