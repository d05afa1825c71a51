-- Which links go to a URL: a page preview is shown only while a link that
-- is not deleted goes to its URL (store/links.Linked).
CREATE INDEX links_target ON links (target) WHERE deleted_at IS NULL;
