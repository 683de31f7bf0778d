"""What the visitor sees: the banner, the preference centre and the settings control.

``render`` builds them from the policy's texts, ``injection`` puts them into HTML pages
on their way out, and ``helpers`` lets an app place them in its own templates.
"""

from .helpers import consent_banner, consent_head, consent_settings_link, install_jinja2
from .render import Banner

__all__ = ["Banner", "consent_banner", "consent_head", "consent_settings_link", "install_jinja2"]
