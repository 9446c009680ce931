// ESLint flat config for the field app (pwa/), its build script and its tests (tests/pwa/),
// and the desk pages' script (server/static/).
// `npm run lint` runs with --max-warnings=0: a warning fails the build like an error.
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["node_modules/", "pwa/dist/", ".venv/", "var/", "bench/out/"] },
  js.configs.recommended,
  {
    files: ["pwa/**/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: { ...globals.browser, __SHELL_VERSION__: "readonly", __SHELL_FILES__: "readonly" },
    },
  },
  {
    // The desk pages' one script: a classic (non-module) script loaded with defer.
    files: ["server/static/**/*.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "script", globals: { ...globals.browser } },
  },
  {
    files: ["pwa/sw.js", "pwa/sw/**/*.js"],
    languageOptions: { globals: { ...globals.serviceworker } },
  },
  {
    files: ["pwa/build.mjs", "tests/pwa/**/*.mjs", "eslint.config.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: { ...globals.node } },
  },
  {
    rules: {
      "no-unused-vars": ["error", { argsIgnorePattern: "^_", caughtErrorsIgnorePattern: "^_" }],
      eqeqeq: ["error", "always", { null: "ignore" }],
      "no-var": "error",
      "prefer-const": "error",
      "no-implicit-globals": "error",
    },
  },
];
