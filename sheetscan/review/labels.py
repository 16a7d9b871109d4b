"""Every French word the review pages put on a state, an action, a field kind or an HTTP error."""

from __future__ import annotations

from sheetscan.fields import KINDS
from sheetscan.records import REASON_FR, ReviewReason

KIND_FR = {str(kind): info.label_fr for kind, info in KINDS.items()}
STATE_FR = {
    "auto": "lu automatiquement",
    "pending": "à réviser",
    "confirmed": "confirmée",
    "corrected": "corrigée",
    "blank": "vide",
    "illegible": "illisible",
}
ACTION_FR = {"confirm": "confirmée", "correct": "corrigée", "blank": "vide", "illegible": "illisible"}
HTTP_FR = {
    400: "Requête invalide.",
    403: "Accès refusé.",
    404: "Page ou élément introuvable.",
    405: "Méthode non permise.",
    409: "Conflit : la saisie n'a pas été enregistrée.",
    413: "Formulaire trop volumineux.",
    500: "Erreur interne du serveur ; rien n'a été enregistré pour cette action.",
}
CSRF_REFUSED = "Formulaire expiré ou invalide (jeton de sécurité absent ou erroné). Rechargez la page et recommencez."


def reason_fr(reason: str | None) -> str:
    if not reason:
        return ""
    try:
        return REASON_FR[ReviewReason(reason)]
    except ValueError:
        return reason
