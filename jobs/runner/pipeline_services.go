package runner

import (
	"fmt"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

type rawService struct {
	Name    string            `yaml:"name"`
	Image   string            `yaml:"image"`
	Env     map[string]string `yaml:"env"`
	Command string            `yaml:"command"`
	Health  rawHealth         `yaml:"health"`
}

type rawHealth struct {
	Run      string       `yaml:"run"`
	Interval yamlDuration `yaml:"interval"`
	Timeout  yamlDuration `yaml:"timeout"`
}

// serviceName is a name steps can resolve: a DNS label.
var serviceName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

func parseServices(doc *yaml.Node, raws []rawService) ([]Service, error) {
	var out []Service
	seen := map[string]bool{}
	for i, r := range raws {
		at := func(keys ...any) int { return lineOf(doc, append([]any{"services", i}, keys...)...) }
		s := Service{Name: strings.TrimSpace(r.Name), Image: strings.TrimSpace(r.Image), Env: r.Env,
			Command: strings.TrimSpace(r.Command), Health: strings.TrimSpace(r.Health.Run),
			HealthInterval: r.Health.Interval.d, HealthTimeout: r.Health.Timeout.d, Line: at()}
		switch {
		case !serviceName.MatchString(s.Name):
			return nil, &ConfigError{Line: at("name"), Msg: fmt.Sprintf("service name %q: want lower-case letters, digits and -, as steps reach it by that host name", r.Name)}
		case seen[s.Name]:
			return nil, &ConfigError{Line: at("name"), Msg: fmt.Sprintf("service name %q is used twice", s.Name)}
		case s.Image == "":
			return nil, &ConfigError{Line: at(), Msg: fmt.Sprintf("service %q: image is required", s.Name)}
		case s.Health == "" && (r.Health.Interval.d > 0 || r.Health.Timeout.d > 0):
			return nil, &ConfigError{Line: at("health"), Msg: fmt.Sprintf("service %q: health needs run, the command that says it is ready", s.Name)}
		}
		if err := checkEnv(doc, s.Env, "services", i, "env"); err != nil {
			return nil, err
		}
		seen[s.Name] = true
		out = append(out, s)
	}
	return out, nil
}
