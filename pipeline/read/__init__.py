"""Documents to fields: sniff the type, read text as positioned boxes, classify, extract."""


class Unreadable(Exception):
    """The file cannot be opened at all; the message says why, in Chinese, for the clerk."""
