package identitytest

// shareTests are the share token tests of the suite.
var shareTests = []suiteTest{}
