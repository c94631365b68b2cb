//! A small JSON-Schema validator for the keywords CCF's schemas use (`$ref`, `type`,
//! `properties`, `required`, `additionalProperties`, `items`, `enum`, `pattern`, `allOf`,
//! `minimum`, `maximum`), over OpenAPI 3 (`node_openapi.json`) and Swagger 2 (`gov.json`).

use serde_json::Value;

use super::ccf_file;

pub(crate) struct Schemas {
    root: Value,
}

impl Schemas {
    pub(crate) fn node() -> Self {
        Self::load("doc/schemas/node_openapi.json")
    }

    pub(crate) fn gov() -> Self {
        Self::load("doc/schemas/gov/2024-07-01/gov.json")
    }

    fn load(rel: &str) -> Self {
        Schemas {
            root: serde_json::from_str(&ccf_file(rel)).unwrap_or_else(|e| panic!("{rel}: {e}")),
        }
    }

    pub(crate) fn paths(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (p, ops) in self.root["paths"].as_object().unwrap() {
            for m in ops.as_object().unwrap().keys() {
                if ["get", "post", "delete", "put", "head"].contains(&m.as_str()) {
                    out.push((p.clone(), m.clone()));
                }
            }
        }
        out
    }

    fn resolve<'a>(&'a self, v: &'a Value) -> &'a Value {
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) => self.resolve(
                self.root
                    .pointer(&r[1..])
                    .unwrap_or_else(|| panic!("dangling $ref {r}")),
            ),
            None => v,
        }
    }

    /// The body schema of `method path` for `status` (falls back to `default`).
    pub(crate) fn response(&self, path: &str, method: &str, status: &str) -> Value {
        let op = &self.root["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is not in the schema");
        let resp = op["responses"]
            .get(status)
            .or_else(|| op["responses"].get("default"))
            .unwrap();
        let resp = self.resolve(resp);
        // OpenAPI 3 nests under content; Swagger 2 has `schema` directly.
        resp.pointer("/content/application~1json/schema")
            .or_else(|| resp.get("schema"))
            .cloned()
            .unwrap_or(Value::Null)
    }

    pub(crate) fn validate(&self, schema: &Value, instance: &Value) -> Result<(), Vec<String>> {
        let mut errors = Vec::new();
        self.check(schema, instance, "$", &mut errors);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    fn check(&self, schema: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
        let s = self.resolve(schema);
        if let Some(all) = s.get("allOf").and_then(Value::as_array) {
            for sub in all {
                self.check(sub, v, at, errors);
            }
        }
        if let Some(e) = s.get("enum").and_then(Value::as_array)
            && !e.contains(v)
        {
            errors.push(format!("{at}: {v} is not one of {e:?}"));
        }
        let ty = s.get("type").and_then(Value::as_str);
        let ok = match ty {
            Some("object") => v.is_object(),
            Some("array") => v.is_array(),
            Some("string") => v.is_string(),
            Some("integer") => v.is_i64() || v.is_u64(),
            Some("number") => v.is_number(),
            Some("boolean") => v.is_boolean(),
            Some("null") => v.is_null(),
            _ => true,
        };
        if !ok {
            errors.push(format!("{at}: expected {}, got {v}", ty.unwrap_or("?")));
            return;
        }
        if let (Some(p), Some(text)) = (s.get("pattern").and_then(Value::as_str), v.as_str())
            && !regex::Regex::new(p).unwrap().is_match(text)
        {
            errors.push(format!("{at}: {text:?} does not match {p}"));
        }
        if let Some(n) = v.as_f64() {
            if let Some(min) = s.get("minimum").and_then(Value::as_f64)
                && n < min
            {
                errors.push(format!("{at}: {n} < minimum {min}"));
            }
            if let Some(max) = s.get("maximum").and_then(Value::as_f64)
                && n > max
            {
                errors.push(format!("{at}: {n} > maximum {max}"));
            }
        }
        if let Some(obj) = v.as_object() {
            let props = s.get("properties").and_then(Value::as_object);
            if let Some(req) = s.get("required").and_then(Value::as_array) {
                for r in req.iter().filter_map(Value::as_str) {
                    if !obj.contains_key(r) {
                        errors.push(format!("{at}: missing required property {r}"));
                    }
                }
            }
            for (k, val) in obj {
                match props.and_then(|p| p.get(k)) {
                    Some(ps) => self.check(ps, val, &format!("{at}.{k}"), errors),
                    None => {
                        if let Some(extra) = s.get("additionalProperties").filter(|a| a.is_object())
                        {
                            self.check(extra, val, &format!("{at}.{k}"), errors);
                        }
                    }
                }
            }
        }
        if let (Some(items), Some(arr)) = (s.get("items"), v.as_array()) {
            for (i, item) in arr.iter().enumerate() {
                self.check(items, item, &format!("{at}[{i}]"), errors);
            }
        }
    }
}
