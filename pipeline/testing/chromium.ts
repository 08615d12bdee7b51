// The headless browser the page tests drive: MLTK_CHROMIUM (GitHub's Ubuntu runners have Google Chrome
// at /usr/bin/google-chrome, and Ubuntu's chromium package is only a snap stub), else Debian's chromium.
export const CHROMIUM = process.env.MLTK_CHROMIUM || '/usr/bin/chromium';
