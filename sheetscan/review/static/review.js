// Keyboard shortcuts for the review pages. The pages work without this file; it only adds keys,
// selects the prefilled value and preloads the next item's images.
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  var itemForm = document.getElementById("item-form");
  if (itemForm) {
    setUpItem(itemForm);
  }
  var sheetForm = document.getElementById("sheet-form");
  if (sheetForm) {
    setUpSheet(sheetForm);
  }
});

function setUpItem(form) {
  var input = document.getElementById("value");
  var sent = false;
  input.focus();
  input.select();
  form.addEventListener("submit", function (event) {
    if (sent) {
      event.preventDefault();
    }
    sent = true;
  });
  var keys = { b: "btn-blank", i: "btn-illegible", s: "btn-skip" };
  document.addEventListener("keydown", function (event) {
    if (!event.ctrlKey || event.altKey || event.metaKey) {
      return;
    }
    var key = event.key.toLowerCase();
    if (keys[key]) {
      event.preventDefault();
      if (!sent) {
        document.getElementById(keys[key]).click();
      }
    } else if (key === "g") {
      event.preventDefault();
      var box = document.getElementById("override");
      if (box) {
        box.checked = !box.checked;
      }
    }
  });
  var upcoming = document.getElementById("upcoming");
  if (upcoming) {
    [upcoming.dataset.img, upcoming.dataset.strip].forEach(function (url) {
      new Image().src = url;
    });
  }
}

function setUpSheet(form) {
  form.querySelectorAll("button.clear-row").forEach(function (button) {
    button.addEventListener("click", function () {
      button.closest("tr").querySelectorAll("input[name^='c']").forEach(function (input) {
        input.value = "";
      });
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey && event.key === "Enter") {
      event.preventDefault();
      document.getElementById("save-sheet").click();
    }
  });
}
