/**
 * Jest runs the model and component specs in jsdom through ts-jest (CommonJS output).
 * Specs mock '../handler', so no JupyterLab runtime package is loaded.
 */
module.exports = {
  testEnvironment: 'jsdom',
  roots: ['<rootDir>/src'],
  testMatch: ['**/__tests__/**/*.spec.ts?(x)'],
  transform: {
    '^.+\\.tsx?$': [
      'ts-jest',
      {
        tsconfig: {
          jsx: 'react',
          module: 'commonjs',
          esModuleInterop: true,
          strict: true,
          types: ['jest', 'node'],
          skipLibCheck: true
        },
        diagnostics: { warnOnly: false }
      }
    ]
  },
  moduleNameMapper: { '\\.(css)$': '<rootDir>/src/__tests__/styleMock.js' }
};
