// Package memory is the in-memory tenancy store. It rides on an identity
// store: a tenancy transaction runs inside an identity transaction, so the
// identity rows, the tenancy rows and the buffered tuple writes commit or
// roll back together.
package memory
