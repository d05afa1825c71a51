// Package outbox is Shelf's outgoing mail, stored and then forwarded: mail
// waits here until it is delivered; the Sender delivers it.
//
// Enqueue adds a message inside the caller's transaction, so it is sent if
// and only if that transaction commits. The Queue keeps each message's
// claims, attempts and outcome; a Sender claims due messages, delivers
// them over SMTP with go-mail and records each outcome, retrying
// temporary failures with backoff. Several senders, in one process or
// several (instances sharing one PostgreSQL database), may share a queue:
// each message is claimed by one of them, and the claims of one that dies
// pass to the others once its heartbeat lease lapses.
package outbox
