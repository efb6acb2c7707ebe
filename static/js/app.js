// Behaviour shared by every page, kept out of the templates so the Content-Security-Policy can forbid inline
// scripts: a form with data-confirm asks first; an input with data-select-on-click selects its text.
document.addEventListener("submit", (event) => {
  const message = event.target.dataset && event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});
document.addEventListener("click", (event) => {
  if (event.target.matches && event.target.matches("input[data-select-on-click]")) event.target.select();
});
