// The console's only script: starts GOV.UK Frontend's and MOJ Frontend's components (error summary
// focus, character count, service navigation toggle, sortable tables...). Pages work without it.
// The build rewrites these two specifiers to the fingerprinted files beside this one.
import { initAll as initGovuk } from './govuk-frontend.min.js'
import { initAll as initMoj } from './moj-frontend.min.js'

initGovuk()
initMoj()
