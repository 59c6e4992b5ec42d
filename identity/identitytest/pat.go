package identitytest

// patTests are the personal access token tests of the suite.
var patTests = []suiteTest{}
