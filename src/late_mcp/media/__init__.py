"""Local media files: reading them for upload and recognising what they are."""
