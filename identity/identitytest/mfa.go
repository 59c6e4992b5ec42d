package identitytest

// mfaTests are the MFA tests of the suite.
var mfaTests = []suiteTest{}
