# The C twins of consent/scan.py (consent/_speedups.c), with its signatures.
from .scan import FilterHeaders, ReadHeaders, ScanCookies, SendMessage

read_headers: ReadHeaders
scan_cookies: ScanCookies
filter_headers: FilterHeaders
send_message: SendMessage
