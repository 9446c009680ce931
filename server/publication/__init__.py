"""Publication (一公开): public results pages, feed and exports; publishing by hand and on schedule."""
