package server

// mfaRoutes are the MFA factor and policy operations.
var mfaRoutes = []route{}
