package conformance

// CheckStep exposes checkStep to the external tests.
var CheckStep = checkStep
