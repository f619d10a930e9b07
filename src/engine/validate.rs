//! Input validation and normalisation for settings, users and bridges.

use super::EngineError;
use crate::model::{
    strip_prefix_ignore_ascii_case, strip_sip, Bridge, DialInConferencingTenantSettings,
    ServiceNumberType, TenantMigrationConfiguration, User, PIN_LENGTH_RANGE,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

fn invalid(msg: impl Into<String>) -> EngineError {
    EngineError::InvalidArgument(msg.into())
}

/// Applies a JSON object of properties onto a settings object. Property names match
/// case-insensitively (as PowerShell binds them); unknown names and wrongly typed values are
/// errors that name the property.
pub fn apply_patch<T: Serialize + DeserializeOwned>(
    current: &T,
    patch: &Value,
    type_name: &str,
) -> Result<T, EngineError> {
    let Value::Object(patch) = patch else {
        return Err(invalid(format!(
            "the {type_name} patch must be a JSON object of properties"
        )));
    };
    let mut base = serde_json::to_value(current)
        .map_err(|e| EngineError::Store(format!("cannot encode {type_name}: {e}")))?;
    let Some(fields) = base.as_object_mut() else {
        return Err(EngineError::Store(format!("{type_name} is not an object")));
    };
    for (key, value) in patch {
        let canonical = fields
            .keys()
            .find(|k| k.eq_ignore_ascii_case(key))
            .cloned()
            .ok_or_else(|| {
                let mut names: Vec<&str> = fields.keys().map(String::as_str).collect();
                names.sort_unstable();
                invalid(format!(
                    "'{key}' is not a property of {type_name}; properties: {}",
                    names.join(", ")
                ))
            })?;
        fields.insert(canonical, value.clone());
    }
    serde_json::from_value(base).map_err(|e| invalid(format!("invalid {type_name}: {e}")))
}

fn check_identity(identity: &str, type_name: &str) -> Result<String, EngineError> {
    if identity.trim().eq_ignore_ascii_case("Global") {
        Ok("Global".to_string())
    } else {
        Err(invalid(format!(
            "{type_name} has a single instance with Identity 'Global'; '{identity}' was given"
        )))
    }
}

pub fn tenant_migration_configuration(
    mut c: TenantMigrationConfiguration,
) -> Result<TenantMigrationConfiguration, EngineError> {
    c.identity = check_identity(&c.identity, "TenantMigrationConfiguration")?;
    Ok(c)
}

pub fn dial_in_settings(
    mut s: DialInConferencingTenantSettings,
) -> Result<DialInConferencingTenantSettings, EngineError> {
    s.identity = check_identity(&s.identity, "OnlineDialInConferencingTenantSettings")?;
    if !PIN_LENGTH_RANGE.contains(&s.pin_length) {
        return Err(invalid(format!(
            "PinLength {} is out of range; it must be between {} and {}",
            s.pin_length,
            PIN_LENGTH_RANGE.start(),
            PIN_LENGTH_RANGE.end()
        )));
    }
    s.send_email_from_address = s.send_email_from_address.trim().to_string();
    if !s.send_email_from_address.is_empty() && !is_mail_address(&s.send_email_from_address) {
        return Err(invalid(format!(
            "SendEmailFromAddress '{}' is not an address of the form alias@domain",
            s.send_email_from_address
        )));
    }
    if s.send_email_from_override
        && (s.send_email_from_address.is_empty()
            || s.send_email_from_display_name.trim().is_empty())
    {
        return Err(invalid(
            "SendEmailFromOverride can't be True without SendEmailFromAddress and SendEmailFromDisplayName",
        ));
    }
    for d in &mut s.allowed_dial_out_external_domains {
        *d = d.trim().to_ascii_lowercase();
        if !is_domain(d) {
            return Err(invalid(format!(
                "AllowedDialOutExternalDomains entry '{d}' is not a domain name"
            )));
        }
    }
    Ok(s)
}

fn is_domain(d: &str) -> bool {
    d.len() <= 253
        && d.contains('.')
        && d.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// `alias@domain`, no spaces.
pub fn is_mail_address(a: &str) -> bool {
    match a.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && is_domain(&domain.to_ascii_lowercase())
                && !local.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    }
}

/// Accepts E.164 digits, `+E.164` or `tel:+E.164` (as Set-CsOnlineDialInConferencingUser does)
/// and returns `+digits`.
pub fn service_number(n: &str) -> Result<String, EngineError> {
    let t = n.trim();
    let t = strip_prefix_ignore_ascii_case(t, "tel:").unwrap_or(t);
    let digits = t.strip_prefix('+').unwrap_or(t);
    if (7..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
        Ok(format!("+{digits}"))
    } else {
        Err(invalid(format!(
            "'{n}' is not a phone number in E.164 form (e.g. +14255550100)"
        )))
    }
}

pub fn bridge(mut b: Bridge) -> Result<Bridge, EngineError> {
    b.name = b.name.trim().to_string();
    if b.name.is_empty() {
        return Err(invalid("a bridge needs a Name"));
    }
    let mut seen = std::collections::HashSet::new();
    for n in &mut b.service_numbers {
        n.number = service_number(&n.number)?;
        if !seen.insert(n.number.clone()) {
            return Err(invalid(format!(
                "service number {} appears twice on bridge '{}'",
                n.number, b.name
            )));
        }
    }
    for t in ServiceNumberType::ALL {
        let defaults = b
            .service_numbers
            .iter()
            .filter(|n| n.number_type == *t && n.is_default)
            .count();
        if defaults > 1 {
            return Err(invalid(format!(
                "bridge '{}' has {defaults} default {t} numbers; at most one is allowed",
                b.name
            )));
        }
    }
    Ok(b)
}

/// Normalises and checks a user; `bridge` is the user's bridge as stored (if any).
pub fn user(mut u: User, bridge: Option<&Bridge>) -> Result<User, EngineError> {
    u.user_principal_name = u.user_principal_name.trim().to_string();
    if !is_mail_address(&u.user_principal_name) {
        return Err(invalid(format!(
            "UserPrincipalName '{}' is not of the form name@domain",
            u.user_principal_name
        )));
    }
    u.sip_address = strip_sip(&u.sip_address).to_string();
    if u.sip_address.is_empty() {
        u.sip_address = u.user_principal_name.clone();
    }
    if !is_mail_address(&u.sip_address) {
        return Err(invalid(format!(
            "SipAddress '{}' is not of the form sip:user@domain",
            u.sip_address
        )));
    }
    u.display_name = u.display_name.trim().to_string();
    if u.display_name.is_empty() {
        return Err(invalid(format!(
            "user {} needs a DisplayName",
            u.user_principal_name
        )));
    }
    if !u.conference_id.is_empty() {
        crate::rules::triggers::validate_conference_id(&u.conference_id).map_err(invalid)?;
    }
    for (slot, t) in [
        (&mut u.service_number, ServiceNumberType::Toll),
        (&mut u.toll_free_service_number, ServiceNumberType::TollFree),
    ] {
        let Some(n) = slot.as_mut() else { continue };
        *n = service_number(n)?;
        let on_bridge = bridge.is_some_and(|b| {
            b.service_numbers
                .iter()
                .any(|s| &s.number == n && s.number_type == t)
        });
        if !on_bridge {
            return Err(invalid(format!(
                "{t} number {n} is not a {t} number on the user's bridge"
            )));
        }
    }
    Ok(u)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn patch_matches_names_case_insensitively_and_rejects_unknown() {
        let d = DialInConferencingTenantSettings::default();
        let p = apply_patch(&d, &json!({"pinlength": 7}), "X").unwrap();
        assert_eq!(p.pin_length, 7);
        let e = apply_patch(&d, &json!({"PinLen": 7}), "X").unwrap_err();
        assert!(e.to_string().contains("'PinLen' is not a property"), "{e}");
        let e = apply_patch(&d, &json!({"MaskPstnNumbersType": "Sometimes"}), "X").unwrap_err();
        assert!(e.to_string().contains("Sometimes"), "{e}");
        assert!(apply_patch(&d, &json!([1]), "X").is_err());
    }

    #[test]
    fn dial_in_settings_ranges() {
        let mut d = DialInConferencingTenantSettings {
            pin_length: 13,
            ..Default::default()
        };
        assert!(dial_in_settings(d.clone()).is_err());
        d.pin_length = 4;
        assert!(dial_in_settings(d.clone()).is_ok());
        d.send_email_from_override = true;
        assert!(dial_in_settings(d.clone()).is_err());
        d.send_email_from_address = "mms@contoso.com".into();
        d.send_email_from_display_name = "MMS".into();
        assert!(dial_in_settings(d.clone()).is_ok());
        d.identity = "Tag:Other".into();
        assert!(dial_in_settings(d).is_err());
    }

    #[test]
    fn service_numbers_accept_microsoft_forms() {
        assert_eq!(service_number("14255037265").unwrap(), "+14255037265");
        assert_eq!(service_number("tel:+14255037265").unwrap(), "+14255037265");
        assert!(service_number("425-503").is_err());
    }
}
