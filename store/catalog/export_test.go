package catalog

// ImportManyRows is importManyRows for the tests outside the package.
var ImportManyRows = importManyRows
