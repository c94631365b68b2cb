//! The governance endpoints (`/gov/*`, API version [`GOV_API_VERSION`]): reads, and the
//! writes whose bodies are COSE Sign1 messages the caller signed.

use reqwest::Method;
use serde::de::DeserializeOwned;

use super::transport::{RawResponse, decode};
use super::{CcfClient, GOV_API_VERSION, NodeAddr};
use crate::ccf::error::{ClientError, ErrorKind};
use crate::ccf::types::{
    GovNode, JoinPolicy, Member, Proposal, ProposalBody, ServiceInfo, TxId, ValueList,
};

impl CcfClient {
    fn gov(path: &str) -> String {
        let sep = if path.contains('?') { '&' } else { '?' };
        format!("{path}{sep}api-version={GOV_API_VERSION}")
    }

    async fn gov_list<T: DeserializeOwned>(
        &self,
        node: &NodeAddr,
        path: &str,
    ) -> Result<Vec<T>, ClientError> {
        let mut out = Vec::new();
        let mut next = Some(Self::gov(path));
        // CCF does not page today; follow same-origin `nextLink`s defensively, boundedly.
        for _ in 0..100 {
            let Some(p) = next.take() else { break };
            let page: ValueList<T> = self.get_json(node, &p).await?;
            out.extend(page.value);
            next = page.next_link.and_then(|l| same_origin_path(node, &l));
        }
        Ok(out)
    }

    /// `GET /gov/members/proposals`.
    pub async fn proposals(&self, node: &NodeAddr) -> Result<Vec<Proposal>, ClientError> {
        self.gov_list(node, "/gov/members/proposals").await
    }

    /// `GET /gov/members/proposals/{id}`; `None` on 404 (unknown, or purged after completing).
    pub async fn proposal(
        &self,
        node: &NodeAddr,
        id: &str,
    ) -> Result<Option<Proposal>, ClientError> {
        self.get_json_opt(node, &Self::gov(&format!("/gov/members/proposals/{id}")))
            .await
    }

    /// `GET /gov/members/proposals/{id}/actions`.
    pub async fn proposal_actions(
        &self,
        node: &NodeAddr,
        id: &str,
    ) -> Result<Option<ProposalBody>, ClientError> {
        self.get_json_opt(
            node,
            &Self::gov(&format!("/gov/members/proposals/{id}/actions")),
        )
        .await
    }

    /// `GET /gov/service/members`.
    pub async fn members(&self, node: &NodeAddr) -> Result<Vec<Member>, ClientError> {
        self.gov_list(node, "/gov/service/members").await
    }

    /// `GET /gov/service/nodes` (with `retiredCommitted` and `quoteInfo`).
    pub async fn gov_nodes(&self, node: &NodeAddr) -> Result<Vec<GovNode>, ClientError> {
        self.gov_list(node, "/gov/service/nodes").await
    }

    /// `GET /gov/service/nodes/{id}`.
    pub async fn gov_node(
        &self,
        node: &NodeAddr,
        id: &str,
    ) -> Result<Option<GovNode>, ClientError> {
        self.get_json_opt(node, &Self::gov(&format!("/gov/service/nodes/{id}")))
            .await
    }

    /// `GET /gov/service/info`: status, certificate and configuration (certificate validity
    /// maxima).
    pub async fn service_info(&self, node: &NodeAddr) -> Result<ServiceInfo, ClientError> {
        self.get_json(node, &Self::gov("/gov/service/info")).await
    }

    /// `GET /gov/service/join-policy`: registered code versions.
    pub async fn join_policy(&self, node: &NodeAddr) -> Result<JoinPolicy, ClientError> {
        self.get_json(node, &Self::gov("/gov/service/join-policy"))
            .await
    }

    /// `GET /gov/service/constitution` (JavaScript source). CCF serves raw `text/javascript`;
    /// the 2024-07-01 schema also allows `{"constitution": "..."}` as JSON: both are accepted.
    pub async fn constitution(&self, node: &NodeAddr) -> Result<String, ClientError> {
        let path = Self::gov("/gov/service/constitution");
        let r = self.request(Method::GET, node, &path, None).await?;
        constitution_from_body(&r.body).ok_or_else(|| {
            ClientError::new(
                "GET",
                Self::url(node, &path),
                ErrorKind::Decode(
                    "constitution is neither JavaScript text nor {\"constitution\": ...}".into(),
                ),
            )
        })
    }

    // ----- governance writes (bodies are COSE Sign1, signed by the caller) --------------

    async fn post_cose(
        &self,
        node: &NodeAddr,
        path: &str,
        cose: &[u8],
    ) -> Result<RawResponse, ClientError> {
        self.request(
            Method::POST,
            node,
            &Self::gov(path),
            Some(("application/cose", cose)),
        )
        .await
    }

    /// `POST /gov/members/proposals:create`.
    pub async fn create_proposal(
        &self,
        node: &NodeAddr,
        cose: &[u8],
    ) -> Result<(Proposal, Option<TxId>), ClientError> {
        let path = "/gov/members/proposals:create";
        let r = self.post_cose(node, path, cose).await?;
        Ok((decode(&Self::url(node, path), "POST", &r.body)?, r.txid))
    }

    /// `POST /gov/members/proposals/{id}/ballots/{member}:submit`.
    pub async fn submit_ballot(
        &self,
        node: &NodeAddr,
        proposal_id: &str,
        member_id: &str,
        cose: &[u8],
    ) -> Result<(Proposal, Option<TxId>), ClientError> {
        let path = format!("/gov/members/proposals/{proposal_id}/ballots/{member_id}:submit");
        let r = self.post_cose(node, &path, cose).await?;
        Ok((decode(&Self::url(node, &path), "POST", &r.body)?, r.txid))
    }

    /// `POST /gov/members/proposals/{id}:withdraw`; `None` when the proposal is unknown (204).
    pub async fn withdraw_proposal(
        &self,
        node: &NodeAddr,
        proposal_id: &str,
        cose: &[u8],
    ) -> Result<Option<Proposal>, ClientError> {
        let path = format!("/gov/members/proposals/{proposal_id}:withdraw");
        let r = self.post_cose(node, &path, cose).await?;
        if r.status == 204 || r.body.is_empty() {
            return Ok(None);
        }
        Ok(Some(decode(&Self::url(node, &path), "POST", &r.body)?))
    }
}

/// The constitution from a response body: raw UTF-8 JavaScript, or a JSON object with a
/// `constitution` string.
pub fn constitution_from_body(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Wrapped {
        constitution: String,
    }
    if let Ok(w) = serde_json::from_slice::<Wrapped>(body) {
        return Some(w.constitution);
    }
    String::from_utf8(body.to_vec()).ok()
}

fn same_origin_path(node: &NodeAddr, link: &str) -> Option<String> {
    if link.starts_with('/') {
        return Some(link.to_string());
    }
    let u = url::Url::parse(link).ok()?;
    let same = u.scheme() == "https"
        && u.host_str().map(|h| h.trim_matches(['[', ']'])) == Some(node.host())
        && u.port_or_known_default() == Some(node.port());
    same.then(|| match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_links_only_followed_on_the_same_node() {
        let n = NodeAddr::new("127.0.0.1", 8000);
        assert_eq!(
            same_origin_path(&n, "/gov/x?a=1").as_deref(),
            Some("/gov/x?a=1")
        );
        assert_eq!(
            same_origin_path(&n, "https://127.0.0.1:8000/gov/x?api-version=2024-07-01").as_deref(),
            Some("/gov/x?api-version=2024-07-01")
        );
        assert_eq!(same_origin_path(&n, "https://microsoft.com/avwpnzmy"), None);
    }
}
