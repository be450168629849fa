// The console's only script: starts GOV.UK Frontend's and MOJ Frontend's components (error summary
// focus, character count, service navigation toggle, sortable tables...). Pages work without it.
// The build rewrites these two specifiers to the fingerprinted files beside this one.
import { initAll as initGovuk } from './govuk-frontend.min.js'
import { initAll as initMoj } from './moj-frontend.min.js'

initGovuk()
initMoj()

// Print buttons (the print queue's letters): a button with data-print prints the page, whose print
// stylesheet shows only the letter. Hidden until this runs: without JavaScript, the browser's own
// Print command does the same.
for (const button of document.querySelectorAll('button[data-print]')) {
  button.hidden = false
  button.addEventListener('click', () => window.print())
  for (const hint of document.querySelectorAll('.ct-print-hint')) hint.hidden = true
}
