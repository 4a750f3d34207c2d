"""Editorial: content publishing and editorial calendar for B2B content teams."""

__version__ = "0.1.0"
