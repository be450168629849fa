// Loaded as a classic script at the very start of <body> (the CSP forbids the inline script the
// GOV.UK template uses): marks the page so the components' enhanced styles apply, and only in
// browsers that run ES modules (the components' JavaScript is ES modules).
document.body.className += ' js-enabled' + ('noModule' in HTMLScriptElement.prototype ? ' govuk-frontend-supported' : '')
