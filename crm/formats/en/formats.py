"""Dates and times as staff read them in the admin: day month year, a 24-hour clock and the
zone ("2 Dec 2026, 14:05 CET"), never "Dec. 2, 2026, 2:05 p.m." without a zone."""

DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y, H:i T"
TIME_FORMAT = "H:i"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i T"
