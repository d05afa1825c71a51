package paths

// The check-your-mailbox page's "Wrong address? Change it".
const CheckEmailAddress = "/check-email/address"
