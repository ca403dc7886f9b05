// The council member's score sheet (app/evaluation/templates/evaluation/item.html).
  // Saved as they go: each criterion is sent when it changes, so a dropped phone connection loses nothing.
  document.querySelectorAll('#score-form input[name^="c_"]').forEach(function (input) {
    input.addEventListener('change', function () {
      var data = new FormData();
      data.append('csrf_token', document.querySelector('#score-form [name=csrf_token]').value);
      data.append(input.name, input.value);
      fetch(document.getElementById('score-form').action, {method: 'POST', body: data, headers: {Accept: 'application/json'}})
        .then(function (r) { return r.json(); })
        .then(function (body) { input.setCustomValidity(body.error || ''); input.reportValidity(); var t = document.getElementById('total'); if (t && body.total) { t.textContent = body.total; } });
    });
  });
