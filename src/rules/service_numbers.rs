//! Rules about a bridge's service numbers.

use crate::model::{Bridge, ServiceNumber, ServiceNumberType};

/// `Unregister-CsOnlineDialInConferencingServiceNumber` refuses to remove a bridge's default
/// number unless `-RemoveDefaultServiceNumber` is given: every user without a number of their
/// own dials it, so removing it must be deliberate. `None` means the removal may go ahead;
/// `Some` is the admin-readable reason for refusing.
pub fn default_number_removal_refusal(
    bridge: &Bridge,
    number: &ServiceNumber,
    remove_default: bool,
) -> Option<String> {
    if !number.is_default || remove_default {
        return None;
    }
    let kind = match number.number_type {
        ServiceNumberType::Toll => "toll",
        ServiceNumberType::TollFree => "toll-free",
    };
    Some(format!(
        "{} is the default {kind} number of bridge '{}'; unregister it with \
         RemoveDefaultServiceNumber (mms: --remove-default)",
        number.number, bridge.name
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn number(n: &str, is_default: bool) -> ServiceNumber {
        ServiceNumber {
            number: n.into(),
            city: "United States, Los Angeles".into(),
            number_type: ServiceNumberType::Toll,
            is_default,
        }
    }

    fn bridge() -> Bridge {
        Bridge {
            identity: Uuid::nil(),
            name: "Conference Bridge".into(),
            region: "NOAM".into(),
            service_numbers: vec![number("+13238867531", true), number("+14255550101", false)],
        }
    }

    #[test]
    fn a_default_number_is_unregistered_only_with_remove_default_service_number() {
        let b = bridge();
        let default = &b.service_numbers[0];
        let reason = default_number_removal_refusal(&b, default, false).expect("refused");
        assert!(reason.contains("+13238867531"), "{reason}");
        assert!(reason.contains("default toll number"), "{reason}");
        assert!(reason.contains("'Conference Bridge'"), "{reason}");
        assert!(reason.contains("RemoveDefaultServiceNumber"), "{reason}");
        assert_eq!(default_number_removal_refusal(&b, default, true), None);
    }

    #[test]
    fn a_non_default_number_is_unregistered_without_remove_default_service_number() {
        let b = bridge();
        let other = &b.service_numbers[1];
        assert_eq!(default_number_removal_refusal(&b, other, false), None);
        assert_eq!(default_number_removal_refusal(&b, other, true), None);
    }

    #[test]
    fn a_default_toll_free_number_is_named_toll_free_in_the_refusal() {
        let b = bridge();
        let mut n = number("+18005551234", true);
        n.number_type = ServiceNumberType::TollFree;
        let reason = default_number_removal_refusal(&b, &n, false).expect("refused");
        assert!(reason.contains("default toll-free number"), "{reason}");
    }
}
