#!/usr/bin/env bash
# Install what sheetscan needs on a Debian machine: system packages (only those missing) and a virtualenv.
# Idempotent: a second run installs nothing. Usage: scripts/setup.sh [--browser]
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(tesseract-ocr tesseract-ocr-fra poppler-utils fonts-dejavu-core fonts-liberation
          fonts-dkg-handwriting fonts-breip fonts-comic-neue fonts-kristi fonts-sjfonts
          fonts-havana fonts-dustin fonts-yusei-magic)
if [[ "${1:-}" == "--browser" ]]; then packages+=(chromium); fi
python3 -c "import ensurepip" 2>/dev/null || packages+=(python3-venv)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if (( ${#missing[@]} )); then
    echo "Installation des paquets système : ${missing[*]}"
    SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ ! -x .venv/bin/python ]]; then
    echo "Création de l'environnement Python (.venv)"
    python3 -m venv .venv
fi
stamp=.venv/.installed
if [[ ! -f $stamp || pyproject.toml -nt $stamp ]]; then
    echo "Installation des dépendances Python"
    .venv/bin/pip install -q --upgrade pip >/dev/null
    .venv/bin/pip install -q -e ".[dev]"
    touch "$stamp"
fi
