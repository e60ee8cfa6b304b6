#pragma once
// Light or dark: "system" keeps the platform's palette (whatever the desktop says), "light" and "dark" force
// a Fusion palette. Every widget and plot takes its colours from the palette, so both read well.
#include <QString>

namespace labbook {

void applyColorScheme(const QString &scheme); // "system", "light" or "dark"
bool paletteIsDark();

} // namespace labbook
