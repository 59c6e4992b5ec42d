package server

// userRoutes are the user operations.
var userRoutes = []route{}

// credentialRoutes are the credential operations, sign-in included.
var credentialRoutes = []route{}

// sessionRoutes are the session operations.
var sessionRoutes = []route{}
