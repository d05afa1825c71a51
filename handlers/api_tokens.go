package handlers

import "github.com/labstack/echo/v4"

func (a *App) apiTokenPageRoutes(e *echo.Echo) {}
