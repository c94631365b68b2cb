//! Maintenance windows (`[watch] windows = ["Sat 02:00-06:00 UTC"]`): when `noderoll watch`
//! may start an upgrade. Pure: parsing and "is this instant inside" only.
//!
//! Syntax: `[DAYS] HH:MM-HH:MM ZONE`. DAYS is a comma-separated list of days or day ranges
//! (`Sat`, `Mon-Fri`, `Sat,Sun`; omitted: every day); the end may be `24:00`, and an end
//! before the start closes on the next day (`Fri 22:00-02:00` opens Friday evening). ZONE is
//! `UTC`, a fixed offset (`+02:00`) or an IANA name (`Europe/Paris`, from the system's time
//! zone database; daylight saving time is followed).

use std::fmt;

use jiff::civil::Date;
use jiff::tz::{Offset, TimeZone};
use jiff::{Timestamp, ToSpan};

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const FULL_DAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];
const MINUTES_PER_DAY: u16 = 24 * 60;

/// One maintenance window.
#[derive(Debug, Clone)]
pub struct Window {
    text: String,
    /// Monday first.
    days: [bool; 7],
    /// Minutes after midnight.
    start: u16,
    /// Minutes after midnight, up to 1440; at or before `start`: on the next day.
    end: u16,
    zone: TimeZone,
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl PartialEq for Window {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Window {
    /// Parse one window; the error says what is wrong and shows the syntax.
    pub fn parse(text: &str) -> Result<Window, String> {
        let bad = |why: String| {
            format!(
                "window {text:?}: {why} (write e.g. \"Sat 02:00-06:00 UTC\", \"Mon-Fri 22:00-02:00 Europe/Paris\" or \"03:00-04:00 +02:00\")"
            )
        };
        let words: Vec<&str> = text.split_whitespace().collect();
        let (days, hours, zone) = match words.as_slice() {
            [days, hours] if !days.contains(':') && hours.contains(':') => {
                return Err(bad("the time zone is missing".into()));
            }
            [hours, zone] => ([true; 7], *hours, *zone),
            [days, hours, zone] => (parse_days(days).map_err(bad)?, *hours, *zone),
            _ => return Err(bad("expected [DAYS] HH:MM-HH:MM ZONE".into())),
        };
        let (start, end) = hours
            .split_once('-')
            .ok_or_else(|| bad(format!("`{hours}` is not HH:MM-HH:MM")))?;
        let (start, end) = (
            parse_time(start).map_err(bad)?,
            parse_time(end).map_err(bad)?,
        );
        if start == end {
            return Err(bad("it opens and closes at the same time".into()));
        }
        if start == MINUTES_PER_DAY {
            return Err(bad(
                "a window cannot open at 24:00; write 00:00 of the next day".into(),
            ));
        }
        Ok(Window {
            text: text.split_whitespace().collect::<Vec<_>>().join(" "),
            days,
            start,
            end,
            zone: parse_zone(zone).map_err(bad)?,
        })
    }

    /// Whether `now` is inside the window.
    pub fn contains(&self, now: Timestamp) -> bool {
        let today = now.to_zoned(self.zone.clone()).date();
        // A window that crosses midnight may have opened yesterday.
        [Some(today), today.yesterday().ok()]
            .into_iter()
            .flatten()
            .filter_map(|day| self.opening_on(day))
            .any(|(open, close)| open <= now && now < close)
    }

    /// The next time the window opens after `now` (within a week and a day).
    pub fn next_opening(&self, now: Timestamp) -> Option<Timestamp> {
        let today = now.to_zoned(self.zone.clone()).date();
        (0..=8)
            .filter_map(|d| today.checked_add(d.days()).ok())
            .filter_map(|day| self.opening_on(day))
            .map(|(open, _)| open)
            .find(|open| *open > now)
    }

    /// When the window opens and closes if it opens on `day` (its zone's calendar).
    fn opening_on(&self, day: Date) -> Option<(Timestamp, Timestamp)> {
        let weekday = usize::from(day.weekday().to_monday_zero_offset().unsigned_abs());
        if !self.days[weekday] {
            return None;
        }
        let open = self.at(day, self.start)?;
        let close_day = if self.end > self.start {
            day
        } else {
            day.tomorrow().ok()?
        };
        Some((open, self.at(close_day, self.end)?))
    }

    fn at(&self, day: Date, minutes: u16) -> Option<Timestamp> {
        let (day, minutes) = if minutes == MINUTES_PER_DAY {
            (day.tomorrow().ok()?, 0)
        } else {
            (day, minutes)
        };
        let hour = i8::try_from(minutes / 60).ok()?;
        let minute = i8::try_from(minutes % 60).ok()?;
        // A wall time skipped or repeated by a DST change resolves the usual way (later).
        day.at(hour, minute, 0, 0)
            .to_zoned(self.zone.clone())
            .ok()
            .map(|z| z.timestamp())
    }
}

fn parse_days(text: &str) -> Result<[bool; 7], String> {
    let mut days = [false; 7];
    for part in text.split(',') {
        let (first, last) = match part.split_once('-') {
            Some((a, b)) => (day_index(a)?, day_index(b)?),
            None => {
                let d = day_index(part)?;
                (d, d)
            }
        };
        // `Fri-Mon` wraps over the weekend.
        let mut d = first;
        loop {
            days[d] = true;
            if d == last {
                break;
            }
            d = (d + 1) % 7;
        }
    }
    Ok(days)
}

fn day_index(text: &str) -> Result<usize, String> {
    let lower = text.to_ascii_lowercase();
    (0..7)
        .find(|&i| lower == DAYS[i] || lower == FULL_DAYS[i])
        .ok_or_else(|| format!("`{text}` is not a day (Mon, Tue, Wed, Thu, Fri, Sat, Sun)"))
}

fn parse_time(text: &str) -> Result<u16, String> {
    let bad = || format!("`{text}` is not a time HH:MM (00:00 to 24:00)");
    let (h, m) = text.split_once(':').ok_or_else(bad)?;
    let two_digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !two_digits(h) || !two_digits(m) {
        return Err(bad());
    }
    let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if m > 59 || h > 24 || (h == 24 && m != 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

fn parse_zone(text: &str) -> Result<TimeZone, String> {
    if text.eq_ignore_ascii_case("UTC") || text == "Z" {
        return Ok(TimeZone::UTC);
    }
    if let Some(sign) = text.chars().next().filter(|c| *c == '+' || *c == '-') {
        let minutes = parse_time(&text[1..])
            .map_err(|_| format!("`{text}` is not an offset (+HH:MM or -HH:MM)"))?;
        let seconds = i32::from(minutes) * 60 * if sign == '-' { -1 } else { 1 };
        let offset = Offset::from_seconds(seconds).map_err(|e| format!("offset `{text}`: {e}"))?;
        return Ok(TimeZone::fixed(offset));
    }
    TimeZone::get(text).map_err(|_| {
        format!(
            "unknown time zone `{text}` (use UTC, an offset like +02:00, or an IANA name like Europe/Paris, which needs the system's time zone database)"
        )
    })
}

/// The `[watch]` table of a plan file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WatchSettings {
    /// When `noderoll watch` may start an upgrade; empty: any time.
    pub windows: Vec<Window>,
}

impl WatchSettings {
    /// Parse the `[watch]` table (absent: no restriction).
    pub fn from_table(table: Option<&toml::Value>) -> Result<WatchSettings, String> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            #[serde(default)]
            windows: Vec<String>,
        }
        let Some(table) = table else {
            return Ok(WatchSettings::default());
        };
        let raw: Raw = table
            .clone()
            .try_into()
            .map_err(|e: toml::de::Error| format!("[watch]: {}", e.message()))?;
        let windows = raw
            .windows
            .iter()
            .map(|w| Window::parse(w).map_err(|e| format!("[watch] windows: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(WatchSettings { windows })
    }

    /// Whether an upgrade may start at `now`.
    pub fn open_at(&self, now: Timestamp) -> bool {
        self.windows.is_empty() || self.windows.iter().any(|w| w.contains(now))
    }

    /// The next time a window opens after `now`.
    pub fn next_opening(&self, now: Timestamp) -> Option<Timestamp> {
        self.windows
            .iter()
            .filter_map(|w| w.next_opening(now))
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn a_saturday_window_in_utc() {
        let w = Window::parse("Sat 02:00-06:00 UTC").unwrap();
        // 2026-11-21 is a Saturday.
        assert!(!w.contains(at("2026-11-21T01:59:59Z")));
        assert!(w.contains(at("2026-11-21T02:00:00Z")));
        assert!(w.contains(at("2026-11-21T05:59:59Z")));
        assert!(!w.contains(at("2026-11-21T06:00:00Z")));
        assert!(!w.contains(at("2026-11-22T03:00:00Z")));
        assert_eq!(
            w.next_opening(at("2026-11-22T03:00:00Z")),
            Some(at("2026-11-28T02:00:00Z"))
        );
    }

    #[test]
    fn a_window_across_midnight_belongs_to_the_day_it_opens() {
        let w = Window::parse("Fri 22:00-02:00 UTC").unwrap();
        // 2026-11-20 is a Friday.
        assert!(w.contains(at("2026-11-20T23:00:00Z")));
        assert!(w.contains(at("2026-11-21T01:30:00Z")));
        assert!(!w.contains(at("2026-11-21T02:00:00Z")));
        assert!(
            !w.contains(at("2026-11-20T01:00:00Z")),
            "Friday early morning"
        );
    }

    #[test]
    fn days_ranges_zones_and_every_day() {
        let w = Window::parse("Mon-Fri 09:00-17:00 +02:00").unwrap();
        // Monday 2026-11-23 08:30 UTC is 10:30 at +02:00.
        assert!(w.contains(at("2026-11-23T08:30:00Z")));
        assert!(!w.contains(at("2026-11-22T08:30:00Z")), "Sunday");
        let w = Window::parse("Fri-Mon 00:00-24:00 UTC").unwrap();
        assert!(w.contains(at("2026-11-22T12:00:00Z")), "Sunday");
        assert!(!w.contains(at("2026-11-25T12:00:00Z")), "Wednesday");
        let w = Window::parse("03:00-04:00 UTC").unwrap();
        assert!(w.contains(at("2026-11-25T03:30:00Z")));
        let w = Window::parse("saturday 02:00-06:00 Europe/Paris").unwrap();
        // Winter: Paris is UTC+1.
        assert!(w.contains(at("2026-11-21T01:30:00Z")));
        assert!(!w.contains(at("2026-11-21T05:30:00Z")));
    }

    #[test]
    fn malformed_windows_are_named_with_the_syntax() {
        for (text, words) in [
            ("Sat 02:00-06:00", "time zone is missing"),
            ("Sat", "expected [DAYS]"),
            ("Sat 2:00-06:00 UTC", "is not a time"),
            ("Sat 02:00-25:00 UTC", "is not a time"),
            ("Caturday 02:00-06:00 UTC", "is not a day"),
            ("Satx 02:00-06:00 UTC", "is not a day"),
            ("éé 02:00-06:00 UTC", "is not a day"),
            ("Sat 0é:00-06:00 UTC", "is not a time"),
            ("Sat +2:00-06:00 UTC", "is not a time"),
            ("Sat 02:00-02:00 UTC", "same time"),
            ("Sat 02:00-06:00 Mars/Olympus", "unknown time zone"),
            ("Sat 02:00 UTC", "HH:MM-HH:MM"),
        ] {
            let e = Window::parse(text).unwrap_err();
            assert!(
                e.contains(words) && e.contains("Sat 02:00-06:00 UTC"),
                "{text}: {e}"
            );
        }
    }

    #[test]
    fn settings_table() {
        let none = WatchSettings::from_table(None).unwrap();
        assert!(none.open_at(at("2026-11-22T12:00:00Z")));
        let t: toml::Value =
            toml::from_str("windows = [\"Sat 02:00-06:00 UTC\", \"Sun 02:00-03:00 UTC\"]").unwrap();
        let s = WatchSettings::from_table(Some(&t)).unwrap();
        assert!(s.open_at(at("2026-11-22T02:30:00Z")));
        assert!(!s.open_at(at("2026-11-22T03:30:00Z")));
        assert_eq!(
            s.next_opening(at("2026-11-22T03:30:00Z")),
            Some(at("2026-11-28T02:00:00Z"))
        );
        let t: toml::Value = toml::from_str("window = []").unwrap();
        let e = WatchSettings::from_table(Some(&t)).unwrap_err();
        assert!(e.contains("unknown field `window`"), "{e}");
    }
}
