package server

// orgRoutes are the organization operations.
var orgRoutes = []route{}

// memberRoutes are the membership operations.
var memberRoutes = []route{}

// invitationRoutes are the invitation operations.
var invitationRoutes = []route{}
