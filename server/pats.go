package server

// patRoutes are the personal access token operations.
var patRoutes = []route{}
