package server

// shareRoutes are the share-token extension (ADR 0012's sketch).
var shareRoutes = []route{}
