// The SSO handoff page posts its form to the LMS at once (a static file: the CSP allows no inline script).
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("lms-sso-form");
  if (form) {
    form.submit();
  }
});
