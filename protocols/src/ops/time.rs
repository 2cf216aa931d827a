//! The timestamps of the log formats, in UTC: Common Log Format's `[10/Oct/2000:13:55:36
//! +0000]` and xferlog's `Tue Oct 10 13:55:36 2000` (ctime's layout).

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];

/// A moment broken into its calendar fields (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil {
    /// Year.
    pub year: i64,
    /// Month, 1 to 12.
    pub month: u32,
    /// Day of the month, 1 to 31.
    pub day: u32,
    /// Hour, minute, second.
    pub hms: (u32, u32, u32),
    /// Day of the week, 0 for Thursday (1970-01-01 was one).
    pub weekday: u32,
}

impl Civil {
    /// The calendar fields of `secs` seconds after the Unix epoch.
    pub fn from_unix(secs: i64) -> Civil {
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400) as u32;
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hms: (rem / 3600, rem / 60 % 60, rem % 60),
            weekday: days.rem_euclid(7) as u32,
        }
    }

    /// `10/Oct/2000:13:55:36 +0000`.
    pub fn clf(&self) -> String {
        let (h, m, s) = self.hms;
        let mon = MONTHS[self.month as usize - 1];
        format!(
            "{:02}/{mon}/{}:{h:02}:{m:02}:{s:02} +0000",
            self.day, self.year
        )
    }

    /// `Tue Oct 10 13:55:36 2000`.
    pub fn ctime(&self) -> String {
        let (h, m, s) = self.hms;
        let mon = MONTHS[self.month as usize - 1];
        let wd = DAYS[self.weekday as usize];
        format!(
            "{wd} {mon} {:>2} {h:02}:{m:02}:{s:02} {}",
            self.day, self.year
        )
    }
}

/// Seconds since the Unix epoch now.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Days since 1970-01-01 to (year, month 1-12, day 1-31), proleptic Gregorian: eras of 400
/// years counted from 0000-03-01. Also FTP's `MDTM`/`MLST` dates and the HTTP listing's.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

#[cfg(test)]
mod tests {
    use super::Civil;

    #[test]
    fn known_moments_format_as_the_log_formats_write_them() {
        let c = Civil::from_unix(971_186_136);
        assert_eq!(c.clf(), "10/Oct/2000:13:55:36 +0000");
        assert_eq!(c.ctime(), "Tue Oct 10 13:55:36 2000");
        assert_eq!(Civil::from_unix(0).ctime(), "Thu Jan  1 00:00:00 1970");
        assert_eq!(
            Civil::from_unix(951_782_400).clf(),
            "29/Feb/2000:00:00:00 +0000"
        );
        assert_eq!(
            Civil::from_unix(1_709_251_199).clf(),
            "29/Feb/2024:23:59:59 +0000"
        );
    }
}
