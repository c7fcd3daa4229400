//! AWS region names, checked one way everywhere (`--region`, `--peer-regions`, the region
//! the SDK resolved) and compared as written: region marks are keyed by the name, so two
//! spellings of one region would never meet.

/// The middle words of a region name (`us-east-1`, `ap-southeast-2`, `ca-central-1`).
const DIRECTIONS: &[&str] = &[
    "central",
    "north",
    "south",
    "east",
    "west",
    "northeast",
    "northwest",
    "southeast",
    "southwest",
];

/// The partitions' infixes: `us-gov-west-1`, `us-iso-east-1`, `us-isob-east-1`.
const PARTITIONS: &[&str] = &["gov", "iso", "isob", "isoe", "isof"];

fn is_region(name: &str) -> bool {
    let parts: Vec<&str> = name.split('-').collect();
    let (geo, rest) = match parts.as_slice() {
        [geo, rest @ ..] => (*geo, rest),
        [] => return false,
    };
    let rest = match rest {
        [p, rest @ ..] if PARTITIONS.contains(p) => rest,
        _ => rest,
    };
    let [direction, number] = rest else {
        return false;
    };
    geo.len() == 2
        && geo.bytes().all(|b| b.is_ascii_lowercase())
        && DIRECTIONS.contains(direction)
        && (1..=2).contains(&number.len())
        && number.bytes().all(|b| b.is_ascii_digit())
        && !number.starts_with('0')
}

/// `Ok` for a region name in the AWS form (`us-east-1`, `eu-west-2`, `us-gov-west-1`,
/// `cn-north-1`); else why not, with the lower-case spelling when that one is valid.
pub fn check_region(name: &str) -> Result<(), String> {
    if is_region(name) {
        return Ok(());
    }
    let lower = name.trim().to_ascii_lowercase();
    let hint = if lower != name && is_region(&lower) {
        format!(" (region names are lower case: '{lower}')")
    } else {
        String::new()
    };
    Err(format!(
        "'{name}' is not an AWS region name{hint}; expected the AWS form, like us-east-1, \
         eu-west-2, us-gov-west-1 or cn-north-1"
    ))
}

#[cfg(test)]
mod tests {
    use super::check_region;

    #[test]
    fn region_names_in_the_aws_form_are_accepted() {
        for ok in [
            "us-east-1",
            "eu-west-2",
            "us-gov-west-1",
            "cn-north-1",
            "cn-northwest-1",
            "ap-southeast-2",
            "ca-central-1",
            "us-iso-east-1",
            "us-isob-east-1",
            "il-central-1",
        ] {
            assert_eq!(check_region(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn other_spellings_are_refused_one_way() {
        for bad in [
            "west-2",
            "useast1",
            "us-east",
            "us-east-01",
            "us-east-1 ",
            "US-EAST-1",
            "us-up-1",
            "u-east-1",
            "",
            "us-gov-1",
        ] {
            assert!(check_region(bad).is_err(), "{bad:?} accepted");
        }
        let e = check_region("US-WEST-2").unwrap_err();
        assert!(e.contains("'us-west-2'"), "{e}");
    }
}
