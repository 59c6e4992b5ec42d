// Package tenancy will hold Flametrench's tenancy module: organizations,
// memberships and invitations, each membership change writing its tuple into
// the authorization engine in the same transaction. It is specified by the
// spec's docs/tenancy.md and is not built yet; see the project's open issues.
package tenancy
